// Fused float32 kernels for the TensorFlow.js backend: a row softmax and the Adam update, each
// one pass over memory where tfjs's cpu backend makes five (softmax) or fourteen (Adam) passes
// through separate element-wise kernels. Each reproduces the rounding of that kernel sequence
// (every intermediate rounded to float32, sums accumulated in double as the cpu Sum does), so
// results match the cpu backend element for element. Pure C++: no N-API here.
#pragma once

#include <cstdint>

#include "status.h"

namespace specdyn {

// out[r, :] = softmax(x[r, :]) for each of `rows` rows of `cols` values (row-major): with
// mx = max of the row (NaN if the row holds one), e = float(exp(float(x - mx))),
// out = e / float(Σ e). x and out may be the same buffer.
Status SoftmaxRowsF32(const float* x, int64_t xLen, int64_t rows, int64_t cols, float* out, int64_t outLen);

// Constants of one Adam step, as float32 values of tfjs's AdamOptimizer: beta1, 1 - beta1,
// beta2, 1 - beta2, the accumulated powers beta1^t and beta2^t, epsilon and -learningRate.
struct AdamConsts {
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2, accBeta1, accBeta2, epsilon, negLearningRate;
};

// One Adam step over n elements, per element in tfjs's order of operations:
//   m' = m*beta1 + g*(1-beta1);  v' = v*beta2 + g²*(1-beta2);
//   w' = (m'/(1-accBeta1)) / (sqrt(v'/(1-accBeta2)) + epsilon) * (-lr) + w.
// Every operand has length n; an output may be the same buffer as any input (each element is
// read before it is written).
Status AdamUpdateF32(const float* g, const float* m, const float* v, const float* w, int64_t n, const AdamConsts& c,
                     float* mOut, float* vOut, float* wOut);

}  // namespace specdyn
