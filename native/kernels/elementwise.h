// Float32 element-wise maps and sums for the TensorFlow.js backend. Pure C++: no N-API here.
// Each follows the definition of the tfjs cpu kernel of the same name, computed in double where
// tfjs computes in double (transcendentals, sums) and rounded once to float32.
#pragma once

#include <cstdint>

#include "status.h"

namespace specdyn {

enum class BinaryOp { Add, Sub, Mul, Div, Maximum, Minimum, SquaredDifference };
enum class UnaryOp { Sqrt, Rsqrt, Square, Neg, Abs, Exp, Log, Relu, Relu6, Elu, Sigmoid, Tanh, Step, Reciprocal };

bool ParseBinaryOp(const char* name, BinaryOp* out);
bool ParseUnaryOp(const char* name, UnaryOp* out);

// out = a op b over an output of `rank` dims `shape` (product = outLen); aStrides/bStrides give
// each operand's element stride per output dim (0 along broadcast dims). With rank 0 (shape null)
// the operands must have length outLen or 1. Every offset is range-checked before computing.
Status BinaryF32(BinaryOp op, const float* a, int64_t aLen, const float* b, int64_t bLen, float* out, int64_t outLen,
                 int rank, const int32_t* shape, const int32_t* aStrides, const int32_t* bStrides);

// out[i] = f(x[i]); alpha is Step's value for x <= 0.
Status UnaryF32(UnaryOp op, const float* x, int64_t xLen, float* out, int64_t outLen, float alpha);

// x viewed as [outer, reduce, inner]: out[o * inner + i] = Σ_r x[(o * reduce + r) * inner + i],
// accumulated in double.
Status SumF32(const float* x, int64_t xLen, int64_t outer, int64_t reduce, int64_t inner, float* out, int64_t outLen);

}  // namespace specdyn
