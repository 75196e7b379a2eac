// Fuzz harnesses of the kernels (pure C++, no N-API): each target decodes a byte string into
// the arguments a binding passes after its own checks (shapes, options, values including NaN,
// Infinity, subnormals and entries near the float64 limits), runs the input checks and the
// kernel, and checks the invariants of the result (symmetry, ranges, order, finiteness). The
// libFuzzer entry points (fuzz/*.cc) and the corpus replay of the addon (__fuzzReplay) share
// them, so that every input the fuzzer keeps is replayed by the unit tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace specdyn {
namespace harness {

// The outcome of one input: ok (the kernel ran), refused (a check returned an error Status:
// expected for bad input) or a bug (an invariant failed: `what` says which).
struct Outcome {
  enum Kind { Ok, Refused, Bug } kind = Ok;
  std::string what;
};

// The target names: gram, distance, eigen, svd, eigsh, density, sgemm, elementwise, format.
const std::vector<std::string>& Targets();

// Runs one input through a target; an unknown target is a Bug outcome.
Outcome Run(const std::string& target, const uint8_t* data, size_t size);

}  // namespace harness
}  // namespace specdyn
