// libFuzzer harness: the 'density' target of native/kernels/harness.cc.
#include "target.h"

SPECDYN_FUZZ_TARGET("density")
