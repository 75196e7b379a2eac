// libFuzzer harness: the 'distance' target of native/kernels/harness.cc.
#include "target.h"

SPECDYN_FUZZ_TARGET("distance")
