// Dense singular value decomposition (?gesdd).
#pragma once

#include <cstdint>

#include "matview.h"
#include "status.h"

namespace specdyn {

// Singular values (descending) of w (rows x cols) via ?gesdd. When u and v are non-null they
// receive the top k singular vectors by row: u is k x rows, v is k x cols, w = Σ s_i u_i v_iᵀ.
Status Svd(const MatView& w, Precision p, int64_t k, double* s, double* u, double* v);

// Bytes of temporary memory Svd allocates (excluding outputs) and its largest LAPACK workspace.
double SvdWorkBytes(int64_t rows, int64_t cols, Precision p, bool vectors);
double SvdLworkElems(int64_t rows, int64_t cols, bool vectors);

}  // namespace specdyn
