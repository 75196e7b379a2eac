// Thick-restart block Lanczos (eigsh) and stochastic Lanczos quadrature (spectral density).
//
// Why block Lanczos and not LOBPCG: without a preconditioner (we have none for a distance or
// Gram matrix) LOBPCG converges like a 3-block Krylov method, while a block Krylov basis of
// m columns carries the whole polynomial filter of degree m/b. Each expansion step is one
// operator product on an n x b block (BLAS-3, so the n² matrix is streamed once per b vectors)
// plus two passes of classical Gram–Schmidt against the basis done as GEMMs. The Rayleigh
// quotient H = Vᵀ A V is formed explicitly from the stored products A V, so restarts (keep the
// wanted Ritz vectors, continue with their residual block, as Krylov–Schur does) need no
// recurrence bookkeeping and stay exact when blocks deflate.
#include "lanczos.h"

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <type_traits>

namespace specdyn {



namespace {

// xoshiro256** seeded through splitmix64: reproducible start blocks and probes.
class Rng64 {
 public:
  Rng64(uint64_t seed, uint64_t stream) {
    uint64_t z = seed ^ (0x9e3779b97f4a7c15ull * (stream + 1));
    for (auto& w : s_) w = SplitMix(z);
  }
  uint64_t Next() {
    const uint64_t r = Rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return r;
  }
  double Uniform() { return double(Next() >> 11) * 0x1.0p-53; }
  double Normal() {
    if (haveSpare_) {
      haveSpare_ = false;
      return spare_;
    }
    double u = 0;
    while (u <= 0) u = Uniform();
    const double r = std::sqrt(-2.0 * std::log(u)), t = 6.283185307179586 * Uniform();
    spare_ = r * std::sin(t);
    haveSpare_ = true;
    return r * std::cos(t);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t& z) {
    uint64_t x = (z += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }
  uint64_t s_[4];
  double spare_ = 0;
  bool haveSpare_ = false;
};

inline int I(int64_t v) { return static_cast<int>(v); }

void ToFloat(const double* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = float(x[i]);
}
void ToDouble(const float* x, double* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = double(x[i]);
}

// ---------------------------------------------------------------------------- operators

class DenseOp : public SymOperator {
 public:
  DenseOp(const MatView& a, Precision p) : a_(a), p_(p) {
    if (p_ == Precision::F32 && !a_.f32) {
      a32_.resize(static_cast<size_t>(a_.size()));
      ToFloat(static_cast<const double*>(a_.data), a32_.data(), a_.size());
    }
  }
  int64_t Size() const override { return a_.rows; }
  void Apply(const double* x, double* y, int64_t b) override {
    const int64_t n = a_.rows;
    // Row panels of at most ~32 MB of the matrix each, with a cancel check in between (the
    // matrix is symmetric: its row panel is a column panel, read transposed).
    const int64_t panelRows = std::max<int64_t>(64, (int64_t(1) << 22) / n);
    if (p_ == Precision::F64 && !a_.f32) {
      const double* a = static_cast<const double*>(a_.data);
      for (int64_t r0 = 0; r0 < n && !Stopped(); r0 += panelRows) {
        const int64_t r = std::min(panelRows, n - r0);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, I(r), I(b), I(n), 1.0, a + r0 * n,
                    I(n), x, I(n), 0.0, y + r0, I(n));
      }
    } else if (p_ == Precision::F64) {
      // float32 storage, float64 arithmetic: widen a panel of rows at a time.
      const int64_t rowsPer = std::max<int64_t>(1, std::min<int64_t>(n, (1 << 22) / n));
      panel_.resize(static_cast<size_t>(rowsPer * n));
      const float* a = static_cast<const float*>(a_.data);
      for (int64_t r0 = 0; r0 < n && !Stopped(); r0 += rowsPer) {
        const int64_t r = std::min(rowsPer, n - r0);
        ToDouble(a + r0 * n, panel_.data(), r * n);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, I(r), I(b), I(n), 1.0, panel_.data(),
                    I(n), x, I(n), 0.0, y + r0, I(n));
      }
    } else {
      const float* a = a_.f32 ? static_cast<const float*>(a_.data) : a32_.data();
      x32_.resize(static_cast<size_t>(n * b));
      y32_.resize(static_cast<size_t>(n * b));
      ToFloat(x, x32_.data(), n * b);
      for (int64_t r0 = 0; r0 < n && !Stopped(); r0 += 2 * panelRows) {
        const int64_t r = std::min(2 * panelRows, n - r0);
        cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, I(r), I(b), I(n), 1.0f, a + r0 * n,
                    I(n), x32_.data(), I(n), 0.0f, y32_.data() + r0, I(n));
      }
      ToDouble(y32_.data(), y, n * b);
    }
  }

 private:
  MatView a_;
  Precision p_;
  std::vector<float> a32_, x32_, y32_;
  std::vector<double> panel_;
};

// Column-major view helpers for a row-major r x c matrix M: read column-major it is Mᵀ (c x r,
// leading dimension c).
template <typename T>
struct Gemm;
template <>
struct Gemm<double> {
  static void Run(CBLAS_TRANSPOSE ta, int m, int n, int k, double alpha, const double* a, int lda,
                  const double* b, int ldb, double beta, double* c, int ldc) {
    cblas_dgemm(CblasColMajor, ta, CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
};
template <>
struct Gemm<float> {
  static void Run(CBLAS_TRANSPOSE ta, int m, int n, int k, float alpha, const float* a, int lda,
                  const float* b, int ldb, float beta, float* c, int ldc) {
    cblas_sgemm(CblasColMajor, ta, CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
};

// y = ± X (Xᵀ v) for a row-major rows x cols X held in T; order rows (outer) or cols (inner).
template <typename T>
class GramCore {
 public:
  GramCore(const T* x, int64_t rows, int64_t cols) : x_(x), rows_(rows), cols_(cols) {}
  void Apply(const double* v, double* y, int64_t b, bool outer, double scale) {
    const int64_t n = outer ? rows_ : cols_, inner = outer ? cols_ : rows_;
    const T* vin;
    T* yout;
    if (std::is_same<T, double>::value) {
      vin = reinterpret_cast<const T*>(v);
      yout = reinterpret_cast<T*>(y);
    } else {
      vbuf_.resize(static_cast<size_t>(n * b));
      ybuf_.resize(static_cast<size_t>(n * b));
      for (int64_t i = 0; i < n * b; ++i) vbuf_[static_cast<size_t>(i)] = T(v[i]);
      vin = vbuf_.data();
      yout = ybuf_.data();
    }
    t_.resize(static_cast<size_t>(inner * b));
    const int c = I(cols_);
    if (outer) {  // t = Xᵀ v (cols x b), y = X t
      Gemm<T>::Run(CblasNoTrans, c, I(b), I(rows_), T(1), x_, c, vin, I(rows_), T(0), t_.data(), c);
      Gemm<T>::Run(CblasTrans, I(rows_), I(b), c, T(scale), x_, c, t_.data(), c, T(0), yout, I(rows_));
    } else {  // t = X v (rows x b), y = Xᵀ t
      Gemm<T>::Run(CblasTrans, I(rows_), I(b), c, T(1), x_, c, vin, c, T(0), t_.data(), I(rows_));
      Gemm<T>::Run(CblasNoTrans, c, I(b), I(rows_), T(scale), x_, c, t_.data(), I(rows_), T(0), yout, c);
    }
    if (!std::is_same<T, double>::value)
      for (int64_t i = 0; i < n * b; ++i) y[i] = double(ybuf_[static_cast<size_t>(i)]);
  }

 private:
  const T* x_;
  int64_t rows_, cols_;
  std::vector<T> vbuf_, ybuf_, t_;
};

template <typename T>
const T* Cast(const MatView& w, std::vector<T>* owned) {
  const bool same = w.f32 == std::is_same<T, float>::value;
  if (same) return static_cast<const T*>(w.data);
  owned->resize(static_cast<size_t>(w.size()));
  for (int64_t i = 0; i < w.size(); ++i) (*owned)[static_cast<size_t>(i)] = T(w.f32 ? double(static_cast<const float*>(w.data)[i]) : static_cast<const double*>(w.data)[i]);
  return owned->data();
}

template <typename T>
class GramOp : public SymOperator {
 public:
  GramOp(const MatView& w, bool outer) : outer_(outer), n_(outer ? w.rows : w.cols),
      core_(Cast<T>(w, &owned_), w.rows, w.cols) {}
  int64_t Size() const override { return n_; }
  void Apply(const double* x, double* y, int64_t b) override { core_.Apply(x, y, b, outer_, 1.0); }

 private:
  std::vector<T> owned_;  // declared before core_: Cast fills it first
  bool outer_;
  int64_t n_;
  GramCore<T> core_;
};

// Distance matrices with a Gram form: D = s1ᵀ + 1sᵀ + c·X Xᵀ with X prepared (centred or
// normalised) rows; sqeuclidean: s = ‖x_i‖², c = −2; cosine/correlation: s = ½, c = −1.
template <typename T>
class DistanceOp : public SymOperator {
 public:
  DistanceOp(std::vector<T> x, std::vector<double> s, int64_t rows, int64_t cols, double c)
      : x_(std::move(x)), s_(std::move(s)), n_(rows), c_(c), core_(x_.data(), rows, cols) {}
  int64_t Size() const override { return n_; }
  void Apply(const double* x, double* y, int64_t b) override {
    core_.Apply(x, y, b, true, c_);
    for (int64_t j = 0; j < b; ++j) {
      const double* v = x + j * n_;
      double* out = y + j * n_;
      double sum = 0, sv = 0;
      for (int64_t i = 0; i < n_; ++i) {
        sum += v[i];
        sv += s_[static_cast<size_t>(i)] * v[i];
      }
      for (int64_t i = 0; i < n_; ++i) out[i] += s_[static_cast<size_t>(i)] * sum + sv;
    }
  }

 private:
  std::vector<T> x_;
  std::vector<double> s_;
  int64_t n_;
  double c_;
  GramCore<T> core_;
};

template <typename T>
Status MakeDistanceT(const MatView& x, Metric metric, std::unique_ptr<SymOperator>* out) {
  const int64_t n = x.rows, d = x.cols;
  std::vector<double> row(static_cast<size_t>(d)), mean(static_cast<size_t>(d), 0.0), s(static_cast<size_t>(n));
  std::vector<T> xs(static_cast<size_t>(n * d));
  if (metric == Metric::SqEuclidean) {
    // Translation leaves D unchanged; centring keeps the expansion from cancelling.
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) mean[static_cast<size_t>(j)] += x.at(i, j);
    for (auto& m : mean) m /= double(n);
  }
  for (int64_t i = 0; i < n; ++i) {
    double rm = 0;
    for (int64_t j = 0; j < d; ++j) row[static_cast<size_t>(j)] = x.at(i, j) - mean[static_cast<size_t>(j)];
    if (metric == Metric::Correlation) {
      for (double v : row) rm += v;
      rm /= double(d);
      for (double& v : row) v -= rm;
    }
    double nrm2 = 0;
    for (double v : row) nrm2 += v * v;
    if (metric != Metric::SqEuclidean) {
      if (!(nrm2 > 0)) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "Expected %s rows for %s but received row %lld",
                      metric == Metric::Cosine ? "non-zero" : "non-constant", x.name.c_str(),
                      static_cast<long long>(i));
        return Status::Range(buf);
      }
      const double inv = 1.0 / std::sqrt(nrm2);
      for (double& v : row) v *= inv;
      s[static_cast<size_t>(i)] = 0.5;
    } else {
      s[static_cast<size_t>(i)] = nrm2;
    }
    for (int64_t j = 0; j < d; ++j) xs[static_cast<size_t>(i * d + j)] = T(row[static_cast<size_t>(j)]);
  }
  const double c = metric == Metric::SqEuclidean ? -2.0 : -1.0;
  out->reset(new DistanceOp<T>(std::move(xs), std::move(s), n, d, c));
  return Status::Ok();
}

// ---------------------------------------------------------------------------- block Lanczos

double Nrm2(const double* x, int64_t n) { return cblas_dnrm2(I(n), x, 1); }

// x −= V (Vᵀ x), twice, for the first `cols` columns of V (column-major, leading dim n).
void ProjectOut(const double* v, int64_t n, int64_t cols, double* x, std::vector<double>& c) {
  if (cols == 0) return;
  c.resize(static_cast<size_t>(cols));
  for (int pass = 0; pass < 2; ++pass) {
    cblas_dgemv(CblasColMajor, CblasTrans, I(n), I(cols), 1.0, v, I(n), x, 1, 0.0, c.data(), 1);
    cblas_dgemv(CblasColMajor, CblasNoTrans, I(n), I(cols), -1.0, v, I(n), c.data(), 1, 1.0, x, 1);
  }
}

// Appends `add` orthonormal columns to V[:, cur:] spanning as much of X[:, :add] as is new;
// directions that deflate (already in the basis, or dependent) are replaced by random ones.
void OrthoAppend(double* V, int64_t n, int64_t cur, double* X, int64_t add, Rng64& rng,
                 std::vector<double>& work) {
  std::vector<double> orig(static_cast<size_t>(add));
  for (int64_t j = 0; j < add; ++j) orig[static_cast<size_t>(j)] = Nrm2(X + j * n, n);
  if (cur > 0) {
    work.resize(static_cast<size_t>(cur * add));
    for (int pass = 0; pass < 2; ++pass) {  // block classical Gram–Schmidt, twice (BLAS-3)
      cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, I(cur), I(add), I(n), 1.0, V, I(n), X,
                  I(n), 0.0, work.data(), I(cur));
      cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, I(n), I(add), I(cur), -1.0, V, I(n),
                  work.data(), I(cur), 1.0, X, I(n));
    }
  }
  std::vector<double> c;
  for (int64_t j = 0; j < add; ++j) {
    double* x = X + j * n;
    double* dst = V + (cur + j) * n;
    ProjectOut(V + cur * n, n, j, x, c);  // against the columns already appended
    double nrm = Nrm2(x, n);
    if (!(nrm > 1e-10 * orig[static_cast<size_t>(j)]) || !(nrm > 0) || !std::isfinite(nrm)) {
      for (int attempt = 0; attempt < 8; ++attempt) {
        for (int64_t i = 0; i < n; ++i) x[i] = rng.Normal();
        ProjectOut(V, n, cur + j, x, c);
        nrm = Nrm2(x, n);
        if (nrm > 1e-8) break;
      }
    } else {
      ProjectOut(V, n, cur + j, x, c);  // one more sweep: the block pass left O(eps) overlap
      nrm = Nrm2(x, n);
    }
    const double inv = nrm > 0 ? 1.0 / nrm : 0.0;
    for (int64_t i = 0; i < n; ++i) dst[i] = x[i] * inv;
  }
}

void FixSign(double* v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (std::fabs(v[i]) > std::fabs(v[best])) best = i;
  if (v[best] < 0)
    for (int64_t i = 0; i < n; ++i) v[i] = -v[i];
}

}  // namespace

std::unique_ptr<SymOperator> DenseOperator(const MatView& a, Precision p) {
  return std::unique_ptr<SymOperator>(new DenseOp(a, p));
}

std::unique_ptr<SymOperator> GramOperator(const MatView& w, bool outer, Precision p) {
  if (p == Precision::F64) return std::unique_ptr<SymOperator>(new GramOp<double>(w, outer));
  return std::unique_ptr<SymOperator>(new GramOp<float>(w, outer));
}

Status MakeDistanceOperator(const MatView& x, Metric metric, Precision p,
                            std::unique_ptr<SymOperator>* out) {
  if (metric != Metric::SqEuclidean && metric != Metric::Cosine && metric != Metric::Correlation)
    return Status::Range(std::string("Expected a metric with a Gram form ('sqeuclidean', 'cosine' "
                                     "or 'correlation') for distanceOperator option 'metric' but "
                                     "received '") + MetricName(metric) +
                         "' (pass the dense distanceMatrix instead)");
  return p == Precision::F64 ? MakeDistanceT<double>(x, metric, out)
                             : MakeDistanceT<float>(x, metric, out);
}

double DenseOperatorBytes(const MatView& a, Precision p) {
  const double n = double(a.rows);
  if (p == Precision::F32) return (a.f32 ? 0.0 : 4.0 * n * n) + 8.0 * n * 64;
  return a.f32 ? 8.0 * double(std::min<int64_t>(a.rows, (1 << 22) / a.rows + 1)) * n : 0.0;
}

double GramOperatorBytes(const MatView& w, bool outer, Precision p) {
  const double el = p == Precision::F64 ? 8.0 : 4.0;
  const bool same = w.f32 == (p == Precision::F32);
  const double n = double(outer ? w.rows : w.cols), inner = double(outer ? w.cols : w.rows);
  return (same ? 0.0 : el * double(w.size())) + el * 64.0 * (2.0 * n + inner);
}

double DistanceOperatorBytes(const MatView& x, Precision p) {
  const double el = p == Precision::F64 ? 8.0 : 4.0;
  return el * double(x.size()) + 8.0 * double(x.rows) * 2.0 + el * 64.0 * double(2 * x.rows + x.cols);
}

void EigshSizes(int64_t n, const EigshOptions& o, int64_t* block, int64_t* basis) {
  int64_t b = o.block > 0 ? o.block : std::max<int64_t>(4, std::min<int64_t>(o.k, 32));
  b = std::min(b, n);
  int64_t m = o.basis > 0 ? o.basis : std::max(o.k + 4 * b, 3 * o.k);
  m = std::max(m, o.k + 2 * b);
  *block = b;
  *basis = std::min(m, n);
}

double EigshWorkBytes(int64_t n, const EigshOptions& o) {
  int64_t b, m;
  EigshSizes(n, o, &b, &m);
  const double dn = double(n), dm = double(m);
  // V, AV, Ritz vectors and their products, residual block, H and its eigenvectors
  return 8.0 * (2.0 * dn * dm + 3.0 * dn * dm + dn * double(b) + 3.0 * dm * dm + dm * double(b));
}

Status Eigsh(SymOperator& op, const EigshOptions& o, const Control& ctl, double* values,
             double* vectors, double* residuals, EigshStats* stats) {
  FaultPoint(FaultSite::Kernel);
  const int64_t n = op.Size(), k = o.k;
  int64_t b, m;
  EigshSizes(n, o, &b, &m);
  op.SetControl(&ctl);
  const int64_t maxRestarts = o.maxRestarts > 0 ? o.maxRestarts : 1000;
  std::vector<double> V(static_cast<size_t>(n * m)), AV(static_cast<size_t>(n * m)), H(static_cast<size_t>(m * m), 0.0);
  std::vector<double> X(static_cast<size_t>(n * b)), work, S(static_cast<size_t>(m * m)), theta(static_cast<size_t>(m));
  std::vector<double> Xr, AXr, rn;
  Rng64 rng(o.seed, 1);
  for (auto& v : X) v = rng.Normal();
  int64_t cur = 0, nx = b, matvecs = 0;
  double anorm = 0;
  if (stats) {
    stats->block = b;
    stats->basis = m;
  }
  for (int64_t restart = 0;; ++restart) {
    // Expansion: block Lanczos steps until the basis is full.
    for (;;) {
      if (ctl.Cancelled()) return Status::Aborted();
      const int64_t add = std::min(nx, std::min(m, n) - cur);
      OrthoAppend(V.data(), n, cur, X.data(), add, rng, work);
      op.Apply(V.data() + cur * n, AV.data() + cur * n, add);
      if (ctl.Cancelled()) return Status::Aborted();
      matvecs += add;
      const int64_t tot = cur + add;
      // New columns of H = Vᵀ A V; mirror them into the rows so H stays exactly symmetric.
      cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, I(tot), I(add), I(n), 1.0, V.data(),
                  I(n), AV.data() + cur * n, I(n), 0.0, H.data() + cur * m, I(m));
      for (int64_t j = cur; j < tot; ++j)
        for (int64_t i = 0; i < j; ++i) {
          const double h = i >= cur ? 0.5 * (H[static_cast<size_t>(i + j * m)] + H[static_cast<size_t>(j + i * m)]) : H[static_cast<size_t>(i + j * m)];
          H[static_cast<size_t>(i + j * m)] = H[static_cast<size_t>(j + i * m)] = h;
        }
      cur = tot;
      ctl.Report(matvecs, 0, 0);
      // A basis that can hold the whole space (m = n, e.g. when k + 2b > n) is filled to n,
      // the last block partially; otherwise stop before a block no longer fits (m ≥ k + 2b
      // then, so a restart keeps more than k vectors).
      if (cur >= n || (m < n && cur + b > m)) break;
      std::copy(AV.begin() + (cur - add) * n, AV.begin() + cur * n, X.begin());
      nx = add;
    }
    // Rayleigh–Ritz on the basis.
    for (int64_t j = 0; j < cur; ++j)
      for (int64_t i = 0; i < cur; ++i) S[static_cast<size_t>(i + j * cur)] = H[static_cast<size_t>(i + j * m)];
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', lapack_int(cur), S.data(),
                                     lapack_int(cur), theta.data());
    if (info != 0) return Status::Lapack("dsyevd", info);
    std::vector<int64_t> idx(static_cast<size_t>(cur));
    std::iota(idx.begin(), idx.end(), 0);
    auto key = [&](int64_t i) {
      const double t = theta[static_cast<size_t>(i)];
      return o.which == Which::Largest ? -t : o.which == Which::Smallest ? t : -std::fabs(t);
    };
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t c) { return key(a) < key(c); });
    for (int64_t i = 0; i < cur; ++i) anorm = std::max(anorm, std::fabs(theta[static_cast<size_t>(i)]));
    const bool full = cur >= n;
    // Keep about half of the unwanted part too (as Krylov–Schur does): it holds the Ritz
    // vectors next to the wanted ones and so resolves clusters across restarts.
    const int64_t keep = full ? k : std::min(cur - b, std::max(k + (b + 1) / 2, (cur + k) / 2));
    std::vector<double> Y(static_cast<size_t>(cur * keep));
    for (int64_t j = 0; j < keep; ++j)
      std::copy(S.begin() + idx[static_cast<size_t>(j)] * cur, S.begin() + (idx[static_cast<size_t>(j)] + 1) * cur,
                Y.begin() + j * cur);
    Xr.resize(static_cast<size_t>(n * keep));
    AXr.resize(static_cast<size_t>(n * keep));
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, I(n), I(keep), I(cur), 1.0, V.data(),
                I(n), Y.data(), I(cur), 0.0, Xr.data(), I(n));
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, I(n), I(keep), I(cur), 1.0, AV.data(),
                I(n), Y.data(), I(cur), 0.0, AXr.data(), I(n));
    rn.assign(static_cast<size_t>(keep), 0.0);
    std::vector<double> R(static_cast<size_t>(n * keep));
    for (int64_t j = 0; j < keep; ++j) {
      const double t = theta[static_cast<size_t>(idx[static_cast<size_t>(j)])];
      for (int64_t i = 0; i < n; ++i)
        R[static_cast<size_t>(i + j * n)] = AXr[static_cast<size_t>(i + j * n)] - t * Xr[static_cast<size_t>(i + j * n)];
      rn[static_cast<size_t>(j)] = Nrm2(R.data() + j * n, n);
    }
    int64_t conv = 0;
    for (int64_t j = 0; j < k; ++j)
      if (rn[static_cast<size_t>(j)] <= o.tol * anorm) ++conv;
    ctl.Report(matvecs, 0, conv);
    if (stats) {
      stats->restarts = restart;
      stats->matvecs = matvecs;
      stats->normEstimate = anorm;
    }
    if (conv == k || full) {
      for (int64_t j = 0; j < k; ++j) {
        values[j] = theta[static_cast<size_t>(idx[static_cast<size_t>(j)])];
        if (residuals) residuals[j] = rn[static_cast<size_t>(j)];
        if (vectors) {
          std::copy(Xr.begin() + j * n, Xr.begin() + (j + 1) * n, vectors + j * n);
          FixSign(vectors + j * n, n);
        }
      }
      return Status::Ok();
    }
    if (restart + 1 >= maxRestarts) {
      // The pairs that did converge, most extreme first, in the first `conv` slots.
      int64_t c = 0;
      for (int64_t j = 0; j < k; ++j) {
        if (!(rn[static_cast<size_t>(j)] <= o.tol * anorm)) continue;
        values[c] = theta[static_cast<size_t>(idx[static_cast<size_t>(j)])];
        if (residuals) residuals[c] = rn[static_cast<size_t>(j)];
        if (vectors) {
          std::copy(Xr.begin() + j * n, Xr.begin() + (j + 1) * n, vectors + c * n);
          FixSign(vectors + c * n, n);
        }
        ++c;
      }
      Status s = Status::Make(
          ErrKind::NoConvergence,
          "Expected eigsh to converge within " + std::to_string(maxRestarts) + " restarts but received " +
              std::to_string(conv) + " of " + std::to_string(k) +
              " pairs converged (raise maxRestarts or tol, or enlarge the basis)");
      s.routine = "eigsh";
      s.info = int(conv);
      return s;
    }
    if (ctl.Cancelled()) return Status::Aborted();
    // Thick restart: keep the wanted Ritz pairs, continue from their residuals (the next
    // Krylov block), unconverged wanted pairs first.
    std::copy(Xr.begin(), Xr.end(), V.begin());
    std::copy(AXr.begin(), AXr.end(), AV.begin());
    std::fill(H.begin(), H.end(), 0.0);
    for (int64_t j = 0; j < keep; ++j) H[static_cast<size_t>(j + j * m)] = theta[static_cast<size_t>(idx[static_cast<size_t>(j)])];
    cur = keep;
    std::vector<int64_t> order;
    for (int64_t j = 0; j < k; ++j)
      if (rn[static_cast<size_t>(j)] > o.tol * anorm) order.push_back(j);
    for (int64_t j = k; j < keep; ++j) order.push_back(j);
    for (int64_t j = 0; j < k; ++j)
      if (rn[static_cast<size_t>(j)] <= o.tol * anorm) order.push_back(j);
    nx = std::min<int64_t>(b, int64_t(order.size()));
    for (int64_t j = 0; j < nx; ++j)
      std::copy(R.begin() + order[static_cast<size_t>(j)] * n, R.begin() + (order[static_cast<size_t>(j)] + 1) * n,
                X.begin() + j * n);
  }
}

// ---------------------------------------------------------------------------- SLQ

double SlqWorkBytes(int64_t n, const SlqOptions& o) {
  const double p = double(o.probes), s = double(std::min(o.steps, n)), dn = double(n);
  return 8.0 * (dn * p * s + 2.0 * dn * p + 3.0 * p * s + s * s) + 8.0 * double(o.bins + 2) * (p + 3);
}

Status SpectralDensity(SymOperator& op, const SlqOptions& o, const Control& ctl, SlqResult* out) {
  FaultPoint(FaultSite::Kernel);
  const int64_t n = op.Size(), P = o.probes, ms = std::min(o.steps, n);
  op.SetControl(&ctl);
  // Uninitialised on purpose: pages of the per-probe bases are touched step by step, so a
  // long run neither stalls up front nor delays a cancel.
  std::unique_ptr<double[]> basisOwner(new double[static_cast<size_t>(n * P * ms)]);
  double* const basis = basisOwner.get();
  std::vector<double> Q(static_cast<size_t>(n * P)), W(static_cast<size_t>(n * P));
  std::vector<double> alpha(static_cast<size_t>(P * ms), 0.0), beta(static_cast<size_t>(P * ms), 0.0), c;
  std::vector<int64_t> len(static_cast<size_t>(P), ms);
  Rng64 rng(o.seed, 2);
  const double inv = 1.0 / std::sqrt(double(n));
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < n; ++i)
      basis[p * n * ms + i] = (rng.Next() >> 63) ? inv : -inv;  // Rademacher
  int64_t matvecs = 0;
  for (int64_t j = 0; j < ms; ++j) {
    if (ctl.Cancelled()) return Status::Aborted();
    for (int64_t p = 0; p < P; ++p) {
      const double* q = basis + p * n * ms + j * n;
      if (j < len[static_cast<size_t>(p)]) std::copy(q, q + n, Q.begin() + p * n);
      else std::fill(Q.begin() + p * n, Q.begin() + (p + 1) * n, 0.0);
    }
    op.Apply(Q.data(), W.data(), P);
    if (ctl.Cancelled()) return Status::Aborted();
    matvecs += P;
    for (int64_t p = 0; p < P; ++p) {
      if (j >= len[static_cast<size_t>(p)]) continue;
      double* vb = basis + p * n * ms;
      double* w = W.data() + p * n;
      const double* q = vb + j * n;
      const double a = cblas_ddot(I(n), q, 1, w, 1);
      alpha[static_cast<size_t>(p * ms + j)] = a;
      cblas_daxpy(I(n), -a, q, 1, w, 1);
      if (j > 0) cblas_daxpy(I(n), -beta[static_cast<size_t>(p * ms + j - 1)], vb + (j - 1) * n, 1, w, 1);
      ProjectOut(vb, n, j + 1, w, c);  // full reorthogonalisation: exact Gauss quadrature
      const double bt = Nrm2(w, n);
      beta[static_cast<size_t>(p * ms + j)] = bt;
      if (j + 1 < ms) {
        const double scale = std::fabs(a) + (j > 0 ? beta[static_cast<size_t>(p * ms + j - 1)] : 0.0);
        if (!(bt > 1e-12 * scale) || !std::isfinite(bt)) {
          len[static_cast<size_t>(p)] = j + 1;  // invariant subspace: the quadrature is exact already
        } else {
          const double ib = 1.0 / bt;
          for (int64_t i = 0; i < n; ++i) vb[(j + 1) * n + i] = w[i] * ib;
        }
      }
    }
    ctl.Report(j + 1, ms, 0);
  }
  // Gauss quadrature per probe from the first L steps: nodes = eigenvalues of T_L, weights =
  // first components squared. The full-length rule gives the estimate; the half-length rule
  // gives a bias estimate (see below).
  auto quadrature = [&](int64_t p, int64_t L, std::vector<double>* t, std::vector<double>* w) {
    t->assign(alpha.begin() + p * ms, alpha.begin() + p * ms + L);
    std::vector<double> e(static_cast<size_t>(std::max<int64_t>(L, 1)), 0.0);
    for (int64_t j = 0; j + 1 < L; ++j) e[static_cast<size_t>(j)] = beta[static_cast<size_t>(p * ms + j)];
    std::vector<double> z(static_cast<size_t>(L * L));
    lapack_int info = LAPACKE_dstev(LAPACK_COL_MAJOR, 'V', lapack_int(L), t->data(), e.data(),
                                    z.data(), lapack_int(L));
    w->resize(static_cast<size_t>(L));
    for (int64_t j = 0; j < L; ++j) (*w)[static_cast<size_t>(j)] = z[static_cast<size_t>(j * L)] * z[static_cast<size_t>(j * L)];
    return info;
  };
  std::vector<std::vector<double>> nodes(static_cast<size_t>(P)), weights(static_cast<size_t>(P));
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t p = 0; p < P; ++p) {
    lapack_int info = quadrature(p, len[static_cast<size_t>(p)], &nodes[static_cast<size_t>(p)],
                                 &weights[static_cast<size_t>(p)]);
    if (info != 0) return Status::Lapack("dstev", info);
    lo = std::min(lo, nodes[static_cast<size_t>(p)].front());
    hi = std::max(hi, nodes[static_cast<size_t>(p)].back());
  }
  out->lo = lo;
  out->hi = hi;
  out->matvecs = matvecs;
  if (!o.edges.empty()) {
    out->edges = o.edges;
  } else {
    // Extreme Ritz values lie just inside the spectrum; pad so the edges hold it all.
    const double pad = hi > lo ? 0.01 * (hi - lo) : std::max(1.0, std::fabs(hi)) * 1e-3;
    out->edges.resize(static_cast<size_t>(o.bins + 1));
    for (int64_t i = 0; i <= o.bins; ++i)
      out->edges[static_cast<size_t>(i)] = (lo - pad) + (hi - lo + 2 * pad) * double(i) / double(o.bins);
  }
  const int64_t nb = int64_t(out->edges.size()) - 1;
  // Bin masses of one quadrature: its CDF interpolated linearly between the nodes, through the
  // middle of each node's jump, differenced at the edges.
  std::vector<double> F(static_cast<size_t>(nb + 1));
  auto binMasses = [&](const std::vector<double>& t, const std::vector<double>& w, double* mass) {
    const int64_t L = int64_t(t.size());
    std::vector<double> mid(static_cast<size_t>(L));
    double acc = 0;
    for (int64_t j = 0; j < L; ++j) {
      mid[static_cast<size_t>(j)] = acc + 0.5 * w[static_cast<size_t>(j)];
      acc += w[static_cast<size_t>(j)];
    }
    for (int64_t i = 0; i <= nb; ++i) {
      const double x = out->edges[static_cast<size_t>(i)];
      double f;
      if (x < t[0]) {
        f = 0;
      } else if (x >= t[static_cast<size_t>(L - 1)]) {
        f = acc;
      } else {
        const int64_t j = int64_t(std::upper_bound(t.begin(), t.end(), x) - t.begin()) - 1;
        const double gap = t[static_cast<size_t>(j + 1)] - t[static_cast<size_t>(j)];
        const double frac = gap > 0 ? (x - t[static_cast<size_t>(j)]) / gap : 0.0;
        f = mid[static_cast<size_t>(j)] + frac * (mid[static_cast<size_t>(j + 1)] - mid[static_cast<size_t>(j)]);
      }
      F[static_cast<size_t>(i)] = f;
    }
    for (int64_t i = 0; i < nb; ++i) mass[i] = F[static_cast<size_t>(i + 1)] - F[static_cast<size_t>(i)];
  };
  std::vector<double> sum(static_cast<size_t>(nb), 0.0), sum2(static_cast<size_t>(nb), 0.0),
      half(static_cast<size_t>(nb), 0.0), m(static_cast<size_t>(nb));
  std::vector<double> th, wh;
  for (int64_t p = 0; p < P; ++p) {
    binMasses(nodes[static_cast<size_t>(p)], weights[static_cast<size_t>(p)], m.data());
    for (int64_t i = 0; i < nb; ++i) {
      sum[static_cast<size_t>(i)] += m[static_cast<size_t>(i)];
      sum2[static_cast<size_t>(i)] += m[static_cast<size_t>(i)] * m[static_cast<size_t>(i)];
    }
    const int64_t L = len[static_cast<size_t>(p)], Lh = std::max<int64_t>(1, L / 2);
    if (L < ms) {  // the probe found an invariant subspace: its rule is exact
      for (int64_t i = 0; i < nb; ++i) half[static_cast<size_t>(i)] += m[static_cast<size_t>(i)];
      continue;
    }
    lapack_int info = quadrature(p, Lh, &th, &wh);
    if (info != 0) return Status::Lapack("dstev", info);
    binMasses(th, wh, m.data());
    for (int64_t i = 0; i < nb; ++i) half[static_cast<size_t>(i)] += m[static_cast<size_t>(i)];
  }
  out->mass.resize(static_cast<size_t>(nb));
  out->stderr_.resize(static_cast<size_t>(nb));
  out->bias.resize(static_cast<size_t>(nb));
  for (int64_t i = 0; i < nb; ++i) {
    const double mean = sum[static_cast<size_t>(i)] / double(P);
    const double var = P > 1 ? std::max(0.0, (sum2[static_cast<size_t>(i)] - double(P) * mean * mean) / double(P - 1)) : 0.0;
    out->mass[static_cast<size_t>(i)] = mean;
    out->stderr_[static_cast<size_t>(i)] = std::sqrt(var / double(P));
    // Quadrature bias: the interpolated rule converges about like 1/L², so the change from
    // L/2 to L steps over-estimates the remaining error by ~3 (Richardson); report it whole,
    // conservatively.
    out->bias[static_cast<size_t>(i)] = std::fabs(mean - half[static_cast<size_t>(i)] / double(P));
  }
  return Status::Ok();
}

}  // namespace specdyn
