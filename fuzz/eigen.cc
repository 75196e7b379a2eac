// libFuzzer harness: the 'eigen' target of native/kernels/harness.cc.
#include "target.h"

SPECDYN_FUZZ_TARGET("eigen")
