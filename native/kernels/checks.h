// Input checks of the kernels: finite values, symmetry, float32 range.
#pragma once

#include "matview.h"
#include "status.h"

namespace specdyn {

// Input checks (O(size), run off the main thread for async calls).
Status CheckFinite(const MatView& m);
Status CheckSymmetric(const MatView& m, double rtol);
// For precision 'float32' on float64 input: every value must fit a float.
Status CheckFloat32Range(const MatView& m);
// CheckFinite, then CheckFloat32Range when p is F32.
Status CheckInput(const MatView& m, Precision p);
// CheckInput, then CheckSymmetric, in one tiled pass over the matrix (what the dense
// eigensolvers check); the same errors, found by the separate checks once the pass has failed.
Status CheckSymmetricInput(const MatView& m, Precision p, double rtol);

}  // namespace specdyn
