// libFuzzer harness: the 'svd' target of native/kernels/harness.cc.
#include "target.h"

SPECDYN_FUZZ_TARGET("svd")
