// libFuzzer harness: the 'gram' target of native/kernels/harness.cc.
#include "target.h"

SPECDYN_FUZZ_TARGET("gram")
