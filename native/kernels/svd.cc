// Singular value decomposition through ?gesdd (divide and conquer).
//
// The row-major rows x cols W is, read column-major, Wᵀ (cols x rows). ?gesdd of Wᵀ = U' S V'ᵀ
// gives W = V' S U'ᵀ: the right singular vectors of W are the columns of U', already one per
// row when read row-major; the left ones are the rows of V'ᵀ, which one k x rows copy lays out
// by row.
#include <algorithm>
#include <cmath>
#include <memory>

#include "fault.h"
#include "lapack_traits.h"
#include "memory.h"
#include "scale.h"
#include "svd.h"

namespace specdyn {
namespace {

template <typename T>
Status SvdT(const MatView& w, int64_t k, double* s, double* u, double* v) {
  using L = Lapack<T>;
  const lapack_int m = lapack_int(w.cols), n = lapack_int(w.rows), mn = std::min(m, n);
  const bool vecs = u != nullptr;
  const char jobz = vecs ? 'S' : 'N';
  PooledArray<T> a(size_t(m) * size_t(n));
  const int64_t total = w.size();
  for (int64_t i = 0; i < total; ++i)
    a[i] = w.f32 ? T(static_cast<const float*>(w.data)[i]) : T(static_cast<const double*>(w.data)[i]);
  std::unique_ptr<T[]> sv(new T[size_t(mn)]);
  PooledArray<T> uu, vt;
  if (vecs) {
    uu.reset(size_t(m) * size_t(mn));
    vt.reset(size_t(mn) * size_t(n));
  }
  const lapack_int ldu = vecs ? m : 1, ldvt = vecs ? mn : 1;
  std::unique_ptr<lapack_int[]> iwork(new lapack_int[8 * size_t(mn)]);
  T wq = 0;
  lapack_int info = L::Gesdd(jobz, m, n, a.get(), sv.get(), uu.get(), ldu, vt.get(), ldvt, &wq, -1, iwork.get());
  if (info != 0) return Status::Lapack(L::gesdd, info);
  const lapack_int lwork = WorkSize(wq, SvdLworkElems(w.rows, w.cols, vecs));
  PooledArray<T> work{size_t(lwork)};
  info = L::Gesdd(jobz, m, n, a.get(), sv.get(), uu.get(), ldu, vt.get(), ldvt, work.get(), lwork, iwork.get());
  if (info != 0) return Status::Lapack(L::gesdd, info);
  for (lapack_int i = 0; i < mn; ++i) s[i] = double(sv[i]);
  if (!vecs) return Status::Ok();
  for (int64_t i = 0; i < k; ++i) {
    double* ui = u + i * n;
    double* vi = v + i * m;
    for (lapack_int j = 0; j < n; ++j) ui[j] = double(vt[size_t(i) + size_t(j) * size_t(mn)]);
    for (lapack_int j = 0; j < m; ++j) vi[j] = double(uu[size_t(i) * size_t(m) + size_t(j)]);
    // Deterministic signs: the largest-magnitude entry of each left vector is positive.
    int64_t best = 0;
    for (lapack_int j = 1; j < n; ++j)
      if (std::fabs(ui[j]) > std::fabs(ui[best])) best = j;
    if (ui[best] < 0) {
      for (lapack_int j = 0; j < n; ++j) ui[j] = -ui[j];
      for (lapack_int j = 0; j < m; ++j) vi[j] = -vi[j];
    }
  }
  return Status::Ok();
}

}  // namespace

Status Svd(const MatView& w, Precision p, int64_t k, double* s, double* u, double* v) {
  FaultPoint(FaultSite::Kernel);
  Status st = p == Precision::F64 ? SvdT<double>(w, k, s, u, v) : SvdT<float>(w, k, s, u, v);
  if (st.ok()) st = CheckFiniteResult(s, std::min(w.rows, w.cols), "singular values", w.name);
  if (st.ok() && u) st = CheckFiniteResult(u, k * w.rows, "singular vectors", w.name);
  if (st.ok() && v) st = CheckFiniteResult(v, k * w.cols, "singular vectors", w.name);
  return st;
}

double SvdLworkElems(int64_t rows, int64_t cols, bool vectors) {
  const double mn = double(std::min(rows, cols)), mx = double(std::max(rows, cols));
  return vectors ? 3.0 * mn + std::max(mx, 5.0 * mn * mn + 4.0 * mn) : 3.0 * mn + std::max(mx, 7.0 * mn);
}

double SvdWorkBytes(int64_t rows, int64_t cols, Precision p, bool vectors) {
  const double el = p == Precision::F64 ? 8.0 : 4.0;
  const double mn = double(std::min(rows, cols));
  double bytes = el * double(rows) * double(cols) + el * mn + 32.0 * mn;
  if (vectors) bytes += el * (double(cols) * mn + mn * double(rows));
  return bytes + el * SvdLworkElems(rows, cols, vectors);
}

}  // namespace specdyn
