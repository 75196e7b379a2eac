// Threads: the BLAS thread count for one big call, the BLAS build, and the helper used for
// O(n²) post-processing and batches.
#pragma once

#include <cstdint>
#include <string>

namespace specdyn {

// The thread count the BLAS library holds now (what the gate last applied), and setting it.
int BlasThreads();
void SetBlasThreads(int n);
int HardwareThreads();
std::string BlasConfig();
std::string BlasCore();
// The BLAS the thread control was compiled for: "mkl" (SPECDYN_BLAS_MKL builds), "openblas" (its
// extensions present at run time), or "unknown" (another BLAS: thread counts are not applied).
const char* BlasVendor();

// Runs fn(begin, end) over [0, n) split into contiguous chunks on up to `threads` threads.
// An exception thrown by fn on any thread is rethrown here after every thread has joined; a
// thread that cannot be started runs its chunk on the calling thread.
template <typename F>
void ParallelFor(int64_t n, int threads, F fn);

}  // namespace specdyn

#include "parallel.inl"
