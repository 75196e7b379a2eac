// The libFuzzer entry point of one harness target (native/kernels/harness.h): an input whose
// outcome is a bug (a broken invariant) aborts, so that libFuzzer records it as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "harness.h"

#define SPECDYN_FUZZ_TARGET(name)                                                            \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {                  \
    const specdyn::harness::Outcome o = specdyn::harness::Run(name, data, size);             \
    if (o.kind == specdyn::harness::Outcome::Bug) {                                          \
      std::fprintf(stderr, "specdyn fuzz %s: invariant failed: %s\n", name, o.what.c_str()); \
      std::abort();                                                                          \
    }                                                                                        \
    return 0;                                                                                \
  }
