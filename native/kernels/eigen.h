// Dense symmetric eigenproblems (?syevd, ?syevr, and one-reduction ?sytrd/?sterf/?stemr/?ormtr).
#pragma once

#include <cstdint>

#include "matview.h"
#include "status.h"

namespace specdyn {

// Symmetric eigen-solvers. Eigenvalues ascending. lo < 0 means the full spectrum (?syevd);
// otherwise the index range [lo, hi] (?syevr). vectors (nullable) receives k x n row-major:
// row j is the unit eigenvector of values[j]. The row-major upper triangle of a is read.
// scratch (nullable): a private, writable copy of a's elements (n x n, a's element type) that
// the solver may overwrite instead of copying a again (the copy an async call makes of an
// ordinary ArrayBuffer); it is used when its element type is the precision's.
Status Eigen(const MatView& a, Precision p, int64_t lo, int64_t hi, double* values, double* vectors,
             void* scratch = nullptr);

// All n eigenvalues (ascending, into values) and the unit eigenvectors of the index range
// [lo, hi] (k = hi − lo + 1 rows of n, row-major, into vectors) from one tridiagonal reduction
// (?sytrd, ?sterf, ?stemr, ?ormtr): what ?syevd + ?syevr give, at the cost of one reduction.
Status EigenAllValues(const MatView& a, Precision p, int64_t lo, int64_t hi, double* values, double* vectors);
double EigenAllValuesWorkBytes(int64_t n, int64_t k, Precision p);

// Bytes of temporary memory Eigen allocates (excluding outputs), and the largest workspace (in
// elements) LAPACK would be asked for, which must fit a 32-bit lapack_int.
double EigenWorkBytes(int64_t n, Precision p, bool ranged, bool vectors);
double EigenLworkElems(int64_t n, bool ranged, bool vectors);

}  // namespace specdyn
