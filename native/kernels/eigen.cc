// Symmetric eigenvalue problems: ?syevd for the full spectrum, ?syevr for an index range.
//
// A row-major symmetric matrix is its own column-major transpose, so LAPACK reads it as it is
// (uplo 'L' in column-major is the row-major upper triangle) and its column-major eigenvector
// output is, read row-major, one eigenvector per row: no transpose copy anywhere.
#include <algorithm>
#include <cmath>
#include <memory>
#include <type_traits>

#include "distance.h"
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

// CopyInto that also returns max|a_ij| (NaN skipped, as MaxAbs does): one pass, not two.
template <typename T, typename S>
double CopyMaxAbs(const S* s, int64_t n, T* dst) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = std::fabs(double(s[i]));
    m = v > m ? v : m;
    dst[i] = static_cast<T>(s[i]);
  }
  return m;
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

}  // namespace

template <typename T>
Status EigenReduction::ReduceT(const MatView& a, double* values) {
  using L = Lapack<T>;
  const lapack_int n = static_cast<lapack_int>(a.rows);
  // Kept by the reduction (and so maybe by JavaScript) beyond this call: Fit::Close.
  q_.reset(size_t(n) * size_t(n) * sizeof(T), Fit::Close);
  tau_.reset(size_t(std::max<lapack_int>(n, 1)) * sizeof(T), Fit::Close);
  d_.reset(size_t(std::max<lapack_int>(n, 1)) * sizeof(T), Fit::Close);
  e_.reset(size_t(std::max<lapack_int>(n, 1)) * sizeof(T), Fit::Close);
  T* q = reinterpret_cast<T*>(q_.get());
  T* tau = reinterpret_cast<T*>(tau_.get());
  T* d = reinterpret_cast<T*>(d_.get());
  T* e = reinterpret_cast<T*>(e_.get());
  const double amax = a.f32 ? CopyMaxAbs(static_cast<const float*>(a.data), a.size(), q)
                            : CopyMaxAbs(static_cast<const double*>(a.data), a.size(), q);
  // ?sytrd does not scale (?syevd does): entries near the limits of T are scaled by 2^-se
  // first (scale.h), the eigenvalues by 2^se after; the vectors do not change.
  se_ = ScaleExponent(amax, std::is_same<T, double>::value ? kSafeExpF64 : kSafeExpF32);
  if (se_ != 0)
    for (size_t i = 0; i < size_t(n) * size_t(n); ++i) q[i] = T(std::ldexp(double(q[i]), -se_));
  T wq = 0;
  lapack_int info = L::Sytrd(n, q, d, e, tau, &wq, -1);
  if (info != 0) return Status::Lapack(L::sytrd, info);
  {
    const lapack_int lwork = WorkSize(wq, 1.0);
    PooledArray<T> work{size_t(lwork)};
    info = L::Sytrd(n, q, d, e, tau, work.get(), lwork);
    if (info != 0) return Status::Lapack(L::sytrd, info);
  }
  // ?sterf overwrites its d and e; T itself is kept for Vectors.
  std::unique_ptr<T[]> d2(new T[size_t(std::max<lapack_int>(n, 1))]), e2(new T[size_t(std::max<lapack_int>(n, 1))]);
  std::copy(d, d + n, d2.get());
  std::copy(e, e + n, e2.get());
  info = L::Sterf(n, d2.get(), e2.get());
  if (info != 0) return Status::Lapack(L::sterf, info);
  for (lapack_int i = 0; i < n; ++i) values[i] = std::ldexp(double(d2[i]), se_);
  return Status::Ok();
}

template <typename T>
Status EigenReduction::VectorsT(int64_t lo, int64_t hi, double* vectors) const {
  using L = Lapack<T>;
  const lapack_int n = static_cast<lapack_int>(n_);
  const lapack_int il = lapack_int(lo + 1), iu = lapack_int(hi + 1), k = iu - il + 1;
  if (k <= 0) return Status::Ok();
  const T* q = reinterpret_cast<const T*>(q_.get());
  const T* tau = reinterpret_cast<const T*>(tau_.get());
  PooledArray<T> z(size_t(n) * size_t(k));
  // ?stemr overwrites d and e: copies, so that the reduction stays as it is.
  std::unique_ptr<T[]> d(new T[size_t(n)]), e(new T[size_t(n)]), w(new T[size_t(n)]);
  std::copy(reinterpret_cast<const T*>(d_.get()), reinterpret_cast<const T*>(d_.get()) + n, d.get());
  std::copy(reinterpret_cast<const T*>(e_.get()), reinterpret_cast<const T*>(e_.get()) + n, e.get());
  std::unique_ptr<lapack_int[]> isuppz(new lapack_int[2 * size_t(k)]);
  lapack_int m = 0;
  lapack_logical tryrac = 1;
  lapack_int info = L::Stemr(n, d.get(), e.get(), il, iu, &m, w.get(), z.get(), k, isuppz.get(), &tryrac);
  if (TakeFault(FaultSite::Stemr) || info != 0 || m != k) {
    // ?stemr on an index range can fail on tight clusters (info 22: ?larrv), e.g. the many
    // equal distances of probe rows that a ReLU maps to zero. Bisection and inverse iteration
    // on the same T instead (?stebz + ?stein, what ?syevr runs for an index range).
    const T* d0 = reinterpret_cast<const T*>(d_.get());
    const T* e0 = reinterpret_cast<const T*>(e_.get());
    std::unique_ptr<lapack_int[]> iblock(new lapack_int[size_t(n)]), isplit(new lapack_int[size_t(n)]),
        iwork(new lapack_int[3 * size_t(n)]), ifail(new lapack_int[size_t(k)]);
    std::unique_ptr<T[]> work(new T[5 * size_t(n)]);
    lapack_int nsplit = 0;
    m = 0;
    info = L::Stebz(n, d0, e0, il, iu, &m, &nsplit, w.get(), iblock.get(), isplit.get(), work.get(), iwork.get());
    if (info != 0) return Status::Lapack(L::stebz, info);
    if (m != k) return RangeUnresolved(L::stebz, k, m);
    info = L::Stein(n, d0, e0, m, w.get(), iblock.get(), isplit.get(), z.get(), work.get(), iwork.get(), ifail.get());
    if (info != 0) return Status::Lapack(L::stein, info);
    // ?stebz ordered the values by split-off block: into ascending order, vectors with them.
    for (lapack_int j = 0; j + 1 < m; ++j) {
      lapack_int best = j;
      for (lapack_int i = j + 1; i < m; ++i)
        if (w[i] < w[best]) best = i;
      if (best != j) {
        std::swap(w[j], w[best]);
        std::swap_ranges(z.get() + size_t(j) * size_t(n), z.get() + size_t(j + 1) * size_t(n),
                         z.get() + size_t(best) * size_t(n));
      }
    }
  }
  T wq = 0;
  info = L::Ormtr(n, k, q, tau, z.get(), &wq, -1);
  if (info != 0) return Status::Lapack(L::ormtr, info);
  {
    const lapack_int lwork = WorkSize(wq, double(std::max<lapack_int>(k, 1)));
    PooledArray<T> work{size_t(lwork)};
    info = L::Ormtr(n, k, q, tau, z.get(), work.get(), lwork);
    if (info != 0) return Status::Lapack(L::ormtr, info);
  }
  const size_t nk = size_t(n) * size_t(k);
  for (size_t i = 0; i < nk; ++i) vectors[i] = double(z[i]);
  FixSigns(vectors, k, n);
  return Status::Ok();
}

Status EigenReduction::Reduce(const MatView& a, Precision p, double* values) {
  FaultPoint(FaultSite::Kernel);
  n_ = a.rows;
  p_ = p;
  name_ = a.name;
  Status s = p == Precision::F64 ? ReduceT<double>(a, values) : ReduceT<float>(a, values);
  if (s.ok()) s = CheckFiniteResult(values, a.rows, "eigenvalues", a.name);
  return s;
}

Status EigenReduction::Vectors(int64_t lo, int64_t hi, double* vectors) const {
  FaultPoint(FaultSite::Kernel);
  Status s = p_ == Precision::F64 ? VectorsT<double>(lo, hi, vectors) : VectorsT<float>(lo, hi, vectors);
  if (s.ok() && hi >= lo) s = CheckFiniteResult(vectors, (hi - lo + 1) * n_, "eigenvectors", name_);
  return s;
}

double EigenReduction::KeptBytes(int64_t n, Precision p) {
  const double el = p == Precision::F64 ? 8.0 : 4.0, dn = double(n);
  return el * (dn * dn + 3.0 * dn);
}

double EigenReduction::VectorsWorkBytes(int64_t n, int64_t k, Precision p) {
  const double el = p == Precision::F64 ? 8.0 : 4.0, dn = double(n), dk = double(std::max<int64_t>(k, 0));
  // Z, three length-n vectors, ?stemr's work (18n) and iwork (10n), the fallback's (5n, 5n),
  // ?ormtr's work
  return el * (dn * dk + 3.0 * dn + 18.0 * dn + 5.0 * dn + 64.0 * std::max(dk, dn)) + 4.0 * (15.0 * dn + 3.0 * dk);
}

Status EigenAllValues(const MatView& a, Precision p, int64_t lo, int64_t hi, double* values, double* vectors) {
  EigenReduction r;
  Status s = r.Reduce(a, p, values);
  return s.ok() ? r.Vectors(lo, hi, vectors) : s;
}

double EigenAllValuesWorkBytes(int64_t n, int64_t k, Precision p) {
  // the kept reduction and Vectors' temporaries, and ?sytrd's work (64n) and ?sterf's copies (2n)
  const double el = p == Precision::F64 ? 8.0 : 4.0;
  return EigenReduction::KeptBytes(n, p) + EigenReduction::VectorsWorkBytes(n, k, p) + el * 66.0 * double(n);
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

Status GramValues(const MatView& x, bool columns, Precision p, double* values) {
  MatView src = x;
  PooledArray<double> t;
  if (columns) {
    // Xᵀ X is the Gram matrix of the columns: of a transposed copy, in float64 as gram() reads a
    // transposed matrix (an exact widening of float32 input).
    const int64_t r = x.rows, c = x.cols;
    t.reset(size_t(r) * size_t(c));
    double* d = t.get();
    constexpr int64_t kTile = 32;  // a tile of both matrices stays in cache
    for (int64_t i0 = 0; i0 < r; i0 += kTile)
      for (int64_t j0 = 0; j0 < c; j0 += kTile)
        for (int64_t i = i0, ie = std::min(r, i0 + kTile); i < ie; ++i)
          for (int64_t j = j0, je = std::min(c, j0 + kTile); j < je; ++j) d[j * r + i] = x.at(i, j);
    src.data = d;
    src.f32 = false;
    src.rows = c;
    src.cols = r;
  }
  const int64_t n = src.rows;
  PooledArray<double> g(size_t(n) * size_t(n));
  Status s = Gram(src, p, g.get());
  if (!s.ok()) return s;
  MatView gv;
  gv.data = g.get();
  gv.rows = gv.cols = n;
  gv.name = "the Gram matrix of " + x.name;
  return Eigen(gv, p, -1, -1, values, nullptr, g.get());
}

double GramValuesWorkBytes(const MatView& x, bool columns, Precision p) {
  const int64_t n = columns ? x.cols : x.rows;
  MatView src = x;
  if (columns) {
    src.f32 = false;
    src.rows = x.cols;
    src.cols = x.rows;
  }
  return (columns ? 8.0 * double(x.size()) : 0.0) + 8.0 * double(n) * double(n) +
         DistanceWorkBytes(src, Metric::Euclidean, p) + EigenWorkBytes(n, p, false, false);
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
