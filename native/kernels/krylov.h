// Orthogonalisation helpers shared by block Lanczos (eigsh.cc) and SLQ (slq.cc): column-major
// bases of n-vectors (leading dimension n).
#pragma once

#include <cstdint>
#include <vector>

#include "rng.h"

namespace specdyn {

// ‖x‖₂ of n doubles.
double Nrm2(const double* x, int64_t n);

// One classical Gram–Schmidt pass against the first `cols` columns of V (column-major, leading
// dim n): c = Vᵀ x (cols entries), then x −= V c. Two ?gemv.
void ProjectOnce(const double* v, int64_t n, int64_t cols, double* x, double* c);

// x −= V (Vᵀ x), twice, for the first `cols` columns of V (column-major, leading dim n).
void ProjectOut(const double* v, int64_t n, int64_t cols, double* x, std::vector<double>& c);

// Appends `add` orthonormal columns to V[:, cur:] spanning as much of X[:, :add] as is new;
// directions that deflate (already in the basis, or dependent) are replaced by random ones.
void OrthoAppend(double* V, int64_t n, int64_t cur, double* X, int64_t add, Rng64& rng, std::vector<double>& work);

// Deterministic sign: the largest-magnitude entry of v (length n) is made positive.
void FixSign(double* v, int64_t n);

}  // namespace specdyn
