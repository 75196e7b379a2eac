// Gram and distance matrices of the rows of a matrix (?syrk; ?syrk and ?gemm by blocks).
#pragma once

#include "matview.h"
#include "status.h"

namespace specdyn {

// Both check their input first (CheckInput: finite values; the float32 range for precision
// F32), in the same pass that finds its scale.
// X Xᵀ (rows x rows) into out (row-major, exactly symmetric).
Status Gram(const MatView& x, Precision p, double* out);

// Pairwise distances between the rows of x into out (rows x rows): exact zero diagonal, exact
// symmetry, no negative squared distances. Near-coincident pairs, where the Gram expansion
// cancels, are recomputed directly so that every entry keeps full relative accuracy. From a few
// hundred rows on the Gram matrix is formed by blocks (other rounding than one ?syrk: ~1e-16
// relative in float64, ~1e-7 of the norms in float32; the same bits for the same layout).
Status Distance(const MatView& x, Metric metric, Precision p, double* out);

// Test and benchmark hook (not public API): how Distance computes the Gram matrix. block > 0:
// in row panels of `block` rows (?syrk on the diagonal block, ?gemm in chunks of `width`
// columns off it; width 0: the whole panel), each chunk turned into distances while in cache;
// 0: one ?syrk of the whole matrix, then one tiled pass; −1 (the default): chosen by size.
void SetDistanceBlock(int block, int width);

// Bytes of temporary memory Gram/Distance allocate (excluding the output), used to refuse a
// problem before allocating anything.
double DistanceWorkBytes(const MatView& x, Metric metric, Precision p);

}  // namespace specdyn
