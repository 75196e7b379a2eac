// libFuzzer harness: the 'sgemm' target of native/kernels/harness.cc.
#include "target.h"

SPECDYN_FUZZ_TARGET("sgemm")
