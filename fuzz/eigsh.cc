// libFuzzer harness: the 'eigsh' target of native/kernels/harness.cc.
#include "target.h"

SPECDYN_FUZZ_TARGET("eigsh")
