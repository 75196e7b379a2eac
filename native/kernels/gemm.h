// Batched single-precision matrix products with a fused epilogue (bias + activation), for the
// TensorFlow.js backend. Pure C++ over CBLAS: no N-API here.
#pragma once

#include <cstdint>

#include "status.h"

namespace specdyn {

// The activations tfjs fuses into _FusedMatMul, with tfjs's definitions:
// relu max(0,x); relu6 min(max(0,x),6); elu x>=0 ? x : e^x-1; sigmoid 1/(1+e^-x);
// leakyrelu x<0 ? alpha*x : x; prelu x<0 ? w*x : x (w broadcast like the bias).
enum class Activation { Linear, Relu, Relu6, Elu, Sigmoid, LeakyRelu, Prelu };

// Parses a tfjs activation name; false if unknown.
bool ParseActivation(const char* name, Activation* out);

// out[i] = op(A[ai]) · op(B[bi]) (+ bias) then activation, for i in [0, batch). Row-major.
// A holds aSlices matrices of m x k (k x m when transA), B holds bSlices of k x n (n x k when
// transB), out holds batch matrices of m x n. aIndex/bIndex (nullable, length batch) name the
// slice of A/B used for output i; when null, slice i is used if there are batch slices and
// slice 0 if there is one. bias and prelu (nullable) are broadcast by their length: 1 (scalar),
// n (a row, over the last axis), m*n (one matrix for every batch) or batch*m*n (everything).
struct GemmBatch {
  const float* a = nullptr;
  int64_t aLen = 0;
  const float* b = nullptr;
  int64_t bLen = 0;
  float* out = nullptr;
  int64_t outLen = 0;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  bool transA = false, transB = false;
  const int32_t* aIndex = nullptr;
  const int32_t* bIndex = nullptr;
  const float* bias = nullptr;
  int64_t biasLen = 0;
  Activation act = Activation::Linear;
  float alpha = 0.2f;
  const float* prelu = nullptr;
  int64_t preluLen = 0;
  // Split each product in two halves, one on specdyn's helper thread (pair_thread.h) and one on
  // the calling thread, each a single-threaded BLAS call (the caller passes the gate as a small
  // operation). Products too small to split (either side below kSplitMinExtent) run whole.
  bool split = false;
};

// The smallest extent (m or n) a split product cuts in two.
constexpr int64_t kSplitMinExtent = 64;

// Checks every size and index first (RangeError Status, nothing written), then computes: one
// cblas_sgemm per output matrix, at whatever BLAS thread count is in force (the caller passes the
// BLAS gate, blas_gate.h, which decides it), then the epilogue on that matrix while it is hot.
// With `split`, the output matrices (batch > 1) or the rows or columns of the one output matrix
// are shared between the calling thread and the helper thread; every output element is the same
// single-threaded BLAS computation either way up to the order of the k-sum inside the kernel
// (the halves' blocking differs), and the epilogue is the same.
Status SgemmBatch(const GemmBatch& g);

}  // namespace specdyn
