// libFuzzer harness: the 'elementwise' target of native/kernels/harness.cc.
#include "target.h"

SPECDYN_FUZZ_TARGET("elementwise")
