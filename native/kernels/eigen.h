// Dense symmetric eigenproblems (?syevd, ?syevr, and one-reduction ?sytrd/?sterf/?stemr/?ormtr).
#pragma once

#include <cstdint>

#include "matview.h"
#include "memory.h"
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

// A symmetric matrix reduced once to tridiagonal form, A = Q T Qᵀ (?sytrd), kept: every
// eigenvalue now (?sterf), the eigenvectors of any index range later (?stemr on T, ?ormtr back
// to A's basis), each range from the same reduction. After Reduce the object is read-only, so
// several Vectors calls may run on it at once (each works in buffers of its own).
class EigenReduction {
 public:
  // Reduces a (n x n, its row-major upper triangle read) in precision p; all n eigenvalues,
  // ascending, into values. Entries near the limits of p are scaled by a power of two first
  // (scale.h) and the eigenvalues scaled back.
  Status Reduce(const MatView& a, Precision p, double* values);
  // The unit eigenvectors of the eigenvalue indices lo..hi (0 ≤ lo, lo − 1 ≤ hi < n; an empty
  // range writes nothing): k = hi − lo + 1 rows of n, row-major, largest-magnitude entry
  // positive. ?stemr (MRRR) first; where it fails on tight clusters, bisection and inverse
  // iteration (?stebz + ?stein, as ?syevr does for an index range).
  Status Vectors(int64_t lo, int64_t hi, double* vectors) const;
  int64_t n() const { return n_; }
  Precision precision() const { return p_; }
  const std::string& name() const { return name_; }
  // Bytes the reduction keeps (Q's reflectors, τ, T), and the temporary bytes of Vectors for k.
  static double KeptBytes(int64_t n, Precision p);
  static double VectorsWorkBytes(int64_t n, int64_t k, Precision p);

 private:
  template <typename T>
  Status ReduceT(const MatView& a, double* values);
  template <typename T>
  Status VectorsT(int64_t lo, int64_t hi, double* vectors) const;
  int64_t n_ = 0;
  Precision p_ = Precision::F64;
  int se_ = 0;  // the scaling exponent: the reduced matrix is a · 2^-se_
  std::string name_ = "a";
  PooledArray<unsigned char> q_, tau_, d_, e_;  // n², n, n, n elements of the precision's type
};

// All n eigenvalues (ascending, into values) and the unit eigenvectors of the index range
// [lo, hi] (k = hi − lo + 1 rows of n, row-major, into vectors) from one tridiagonal reduction
// (EigenReduction: ?sytrd, ?sterf, ?stemr, ?ormtr): what ?syevd + ?syevr give, at the cost of
// one reduction.
Status EigenAllValues(const MatView& a, Precision p, int64_t lo, int64_t hi, double* values, double* vectors);
double EigenAllValuesWorkBytes(int64_t n, int64_t k, Precision p);

// Every eigenvalue (ascending, into values) of a Gram matrix of x: X Xᵀ (rows x rows) or, with
// columns, Xᵀ X (cols x cols), formed in pooled memory (Gram, ?syrk; for Xᵀ X of a transposed
// float64 copy) and solved in place (?syevd). The same values, bit for bit, as eigvalsh of the
// Gram matrix gram() returns of x or of its transpose; no n x n result leaves the core.
Status GramValues(const MatView& x, bool columns, Precision p, double* values);
double GramValuesWorkBytes(const MatView& x, bool columns, Precision p);

// Bytes of temporary memory Eigen allocates (excluding outputs), and the largest workspace (in
// elements) LAPACK would be asked for, which must fit a 32-bit lapack_int.
double EigenWorkBytes(int64_t n, Precision p, bool ranged, bool vectors);
double EigenLworkElems(int64_t n, bool ranged, bool vectors);

}  // namespace specdyn
