// libFuzzer harness: the 'format' target of native/kernels/harness.cc.
#include "target.h"

SPECDYN_FUZZ_TARGET("format")
