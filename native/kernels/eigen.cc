// Symmetric eigenvalue problems: ?syevd for the full spectrum, ?syevr for an index range.
//
// A row-major symmetric matrix is its own column-major transpose, so LAPACK reads it as it is
// (uplo 'L' in column-major is the row-major upper triangle) and its column-major eigenvector
// output is, read row-major, one eigenvector per row: no transpose copy anywhere.
#include <algorithm>
#include <cmath>
#include <memory>
#include <type_traits>

#include "eigen.h"
#include "fault.h"
#include "lapack_traits.h"
#include "memory.h"
#include "scale.h"

namespace specdyn {
namespace {

// The row-major upper triangle of a (what LAPACK reads as 'L' column-major) into dst; the rest
// of dst is left as it is (LAPACK neither reads it nor needs it).
template <typename T>
void CopyUpper(const MatView& a, T* dst) {
  const int64_t n = a.rows;
  if (a.f32) {
    const float* s = static_cast<const float*>(a.data);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i; j < n; ++j) dst[i * n + j] = static_cast<T>(s[i * n + j]);
  } else {
    const double* s = static_cast<const double*>(a.data);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i; j < n; ++j) dst[i * n + j] = static_cast<T>(s[i * n + j]);
  }
}

template <typename T>
void CopyInto(const MatView& a, T* dst) {
  const int64_t n = a.size();
  if (a.f32) {
    const float* s = static_cast<const float*>(a.data);
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(s[i]);
  } else {
    const double* s = static_cast<const double*>(a.data);
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(s[i]);
  }
}

// A LapackError (info 0) for a range routine that found m eigenvalues where k were asked for.
Status RangeUnresolved(const char* routine, lapack_int k, lapack_int m) {
  Status st = Status::Lapack(routine, 0);
  st.message = std::string("Expected ") + std::to_string(k) + " eigenvalues from " + routine + " but received " +
               std::to_string(m) + " (the index range could not be resolved)";
  return st;
}

// Deterministic signs: the largest-magnitude entry of each of the k rows (length n) is positive.
void FixSigns(double* vectors, int64_t k, int64_t n) {
  for (int64_t r = 0; r < k; ++r) {
    double* v = vectors + r * n;
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i)
      if (std::fabs(v[i]) > std::fabs(v[best])) best = i;
    if (v[best] < 0)
      for (int64_t i = 0; i < n; ++i) v[i] = -v[i];
  }
}

template <typename T>
Status EigenT(const MatView& a, int64_t lo, int64_t hi, double* values, double* vectors, void* scratch) {
  using L = Lapack<T>;
  const lapack_int n = static_cast<lapack_int>(a.rows);
  const bool full = lo < 0;
  const char jobz = vectors ? 'V' : 'N';
  // Full float64 eigenvectors overwrite the copy of a in place: LAPACK works in the output.
  // Otherwise a private copy of a in T (scratch) is worked in as it is.
  const bool inPlace = std::is_same<T, double>::value && full && vectors;
  const bool useScratch = !inPlace && scratch && a.f32 == std::is_same<T, float>::value;
  PooledArray<T> owned;
  if (!inPlace && !useScratch) owned.reset(size_t(n) * size_t(n));
  T* abuf = inPlace ? reinterpret_cast<T*>(vectors) : useScratch ? static_cast<T*>(scratch) : owned.get();
  if (!useScratch && a.data != abuf) CopyUpper(a, abuf);  // a may already be the output (op.h)
  std::unique_ptr<T[]> w(new T[size_t(n)]);
  T wq = 0;
  lapack_int iwq = 0, info;
  if (full) {
    info = L::Syevd(jobz, n, abuf, w.get(), &wq, -1, &iwq, -1);
    if (info != 0) return Status::Lapack(L::syevd, info);
    const lapack_int lwork = WorkSize(wq, EigenLworkElems(n, false, vectors));
    const lapack_int liwork = std::max<lapack_int>(iwq, 1);
    PooledArray<T> work{size_t(lwork)};
    std::unique_ptr<lapack_int[]> iwork(new lapack_int[size_t(liwork)]);
    info = L::Syevd(jobz, n, abuf, w.get(), work.get(), lwork, iwork.get(), liwork);
    if (info != 0) return Status::Lapack(L::syevd, info);
    for (lapack_int i = 0; i < n; ++i) values[i] = double(w[i]);
    if (vectors && !inPlace) {
      const size_t nn = size_t(n) * size_t(n);
      for (size_t i = 0; i < nn; ++i) vectors[i] = double(abuf[i]);
    }
  } else {
    const lapack_int il = lapack_int(lo + 1), iu = lapack_int(hi + 1), k = iu - il + 1;
    PooledArray<T> z;
    if (vectors) z.reset(size_t(n) * size_t(k));
    std::unique_ptr<lapack_int[]> isuppz(new lapack_int[2 * size_t(std::max<lapack_int>(k, 1))]);
    lapack_int m = 0;
    const lapack_int ldz = vectors ? n : 1;
    info = L::Syevr(jobz, n, abuf, il, iu, &m, w.get(), z.get(), ldz, isuppz.get(), &wq, -1, &iwq, -1);
    if (info != 0) return Status::Lapack(L::syevr, info);
    const lapack_int lwork = WorkSize(wq, EigenLworkElems(n, true, vectors));
    const lapack_int liwork = std::max<lapack_int>(iwq, 1);
    PooledArray<T> work{size_t(lwork)};
    std::unique_ptr<lapack_int[]> iwork(new lapack_int[size_t(liwork)]);
    info = L::Syevr(jobz, n, abuf, il, iu, &m, w.get(), z.get(), ldz, isuppz.get(), work.get(), lwork, iwork.get(),
                    liwork);
    if (info != 0) return Status::Lapack(L::syevr, info);
    if (m != k) return RangeUnresolved(L::syevr, k, m);
    for (lapack_int i = 0; i < k; ++i) values[i] = double(w[i]);
    if (vectors) {
      const size_t nk = size_t(n) * size_t(k);
      for (size_t i = 0; i < nk; ++i) vectors[i] = double(z[i]);
    }
  }
  if (vectors) FixSigns(vectors, full ? n : hi - lo + 1, n);
  return Status::Ok();
}

// All eigenvalues and the eigenvectors of [lo, hi] from one tridiagonal reduction:
// ?sytrd (A = Q T Qᵀ), ?sterf (every eigenvalue of T), ?stemr (the selected pairs of T, the
// MRRR algorithm ?syevr uses), ?ormtr (back to A's basis: Z ← Q Z).
template <typename T>
Status EigenAllT(const MatView& a, int64_t lo, int64_t hi, double* values, double* vectors) {
  using L = Lapack<T>;
  const lapack_int n = static_cast<lapack_int>(a.rows);
  const lapack_int il = lapack_int(lo + 1), iu = lapack_int(hi + 1), k = iu - il + 1;
  PooledArray<T> abuf(size_t(n) * size_t(n)), z(size_t(n) * size_t(k));
  CopyInto(a, abuf.get());
  // ?sytrd does not scale (?syevd does): entries near the limits of T are scaled by 2^-se
  // first (scale.h), the eigenvalues by 2^se after; the vectors do not change.
  const int se = ScaleExponent(MaxAbs(a), std::is_same<T, double>::value ? kSafeExpF64 : kSafeExpF32);
  if (se != 0)
    for (size_t i = 0; i < size_t(n) * size_t(n); ++i) abuf[i] = T(std::ldexp(double(abuf[i]), -se));
  std::unique_ptr<T[]> d(new T[size_t(n)]), e(new T[size_t(n)]), tau(new T[size_t(n)]), d2(new T[size_t(n)]),
      e2(new T[size_t(n)]), w(new T[size_t(n)]);
  T wq = 0;
  lapack_int info = L::Sytrd(n, abuf.get(), d.get(), e.get(), tau.get(), &wq, -1);
  if (info != 0) return Status::Lapack(L::sytrd, info);
  {
    const lapack_int lwork = WorkSize(wq, 1.0);
    PooledArray<T> work{size_t(lwork)};
    info = L::Sytrd(n, abuf.get(), d.get(), e.get(), tau.get(), work.get(), lwork);
    if (info != 0) return Status::Lapack(L::sytrd, info);
  }
  // ?sterf and ?stemr both overwrite d and e.
  std::copy(d.get(), d.get() + n, d2.get());
  std::copy(e.get(), e.get() + n, e2.get());
  info = L::Sterf(n, d2.get(), e2.get());
  if (info != 0) return Status::Lapack(L::sterf, info);
  for (lapack_int i = 0; i < n; ++i) values[i] = std::ldexp(double(d2[i]), se);
  std::unique_ptr<lapack_int[]> isuppz(new lapack_int[2 * size_t(k)]);
  lapack_int m = 0;
  lapack_logical tryrac = 1;
  info = L::Stemr(n, d.get(), e.get(), il, iu, &m, w.get(), z.get(), k, isuppz.get(), &tryrac);
  if (info != 0 || m != k) {
    // ?stemr on an index range can fail on tight clusters (info 22: ?larrv), e.g. the many
    // equal distances of probe rows that a ReLU maps to zero. ?syevr on the same range uses
    // bisection and inverse iteration there (?stebz + ?stein): recompute the pairs that way.
    std::unique_ptr<double[]> rangeValues(new double[size_t(k)]);
    return EigenT<T>(a, lo, hi, rangeValues.get(), vectors, nullptr);
  }
  info = L::Ormtr(n, k, abuf.get(), tau.get(), z.get(), &wq, -1);
  if (info != 0) return Status::Lapack(L::ormtr, info);
  {
    const lapack_int lwork = WorkSize(wq, double(std::max<lapack_int>(k, 1)));
    PooledArray<T> work{size_t(lwork)};
    info = L::Ormtr(n, k, abuf.get(), tau.get(), z.get(), work.get(), lwork);
    if (info != 0) return Status::Lapack(L::ormtr, info);
  }
  const size_t nk = size_t(n) * size_t(k);
  for (size_t i = 0; i < nk; ++i) vectors[i] = double(z[i]);
  FixSigns(vectors, k, n);
  return Status::Ok();
}

}  // namespace

Status EigenAllValues(const MatView& a, Precision p, int64_t lo, int64_t hi, double* values, double* vectors) {
  FaultPoint(FaultSite::Kernel);
  Status s = p == Precision::F64 ? EigenAllT<double>(a, lo, hi, values, vectors)
                                 : EigenAllT<float>(a, lo, hi, values, vectors);
  if (s.ok()) s = CheckFiniteResult(values, a.rows, "eigenvalues", a.name);
  if (s.ok() && vectors) s = CheckFiniteResult(vectors, (hi - lo + 1) * a.rows, "eigenvectors", a.name);
  return s;
}

double EigenAllValuesWorkBytes(int64_t n, int64_t k, Precision p) {
  const double el = p == Precision::F64 ? 8.0 : 4.0, dn = double(n), dk = double(k);
  // copy of a, Z, six length-n vectors, ?stemr's work (18n) and iwork (10n), ?ormtr's work
  return el * (dn * dn + dn * dk + 6.0 * dn + 18.0 * dn + 64.0 * std::max(dk, dn)) + 4.0 * (10.0 * dn + 2.0 * dk);
}

Status Eigen(const MatView& a, Precision p, int64_t lo, int64_t hi, double* values, double* vectors, void* scratch) {
  FaultPoint(FaultSite::Kernel);
  Status s = p == Precision::F64 ? EigenT<double>(a, lo, hi, values, vectors, scratch)
                                 : EigenT<float>(a, lo, hi, values, vectors, scratch);
  const int64_t k = lo < 0 ? a.rows : hi - lo + 1;
  if (s.ok()) s = CheckFiniteResult(values, k, "eigenvalues", a.name);
  if (s.ok() && vectors) s = CheckFiniteResult(vectors, k * a.rows, "eigenvectors", a.name);
  return s;
}

double EigenLworkElems(int64_t n, bool ranged, bool vectors) {
  const double dn = double(n);
  if (ranged) return 26.0 * dn;
  return vectors ? 1.0 + 6.0 * dn + 2.0 * dn * dn : 2.0 * dn + 1.0;
}

double EigenWorkBytes(int64_t n, Precision p, bool ranged, bool vectors) {
  const double el = p == Precision::F64 ? 8.0 : 4.0, dn = double(n);
  // copy of a (none for full float64 vectors: LAPACK works in the output), eigenvalues
  double bytes = (p == Precision::F64 && vectors && !ranged ? 0.0 : el * dn * dn) + el * dn;
  bytes += el * EigenLworkElems(n, ranged, vectors);                // work
  bytes += 4.0 * (ranged ? 10.0 * dn + 2.0 * dn : 3.0 + 5.0 * dn);  // iwork, isuppz
  if (ranged && vectors) bytes += el * dn * dn;                     // z (at most n x n)
  return bytes;
}

}  // namespace specdyn
