// The operators of operators.h: dense (optionally in float32), Gram (W Wᵀ, Wᵀ W) and the Gram
// forms of distance matrices, each applied to n x b blocks with one or two GEMMs.
#include "operators.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "checks.h"
#include "colmajor.h"
#include "memory.h"
#include "scale.h"

namespace specdyn {
namespace {

void ToFloat(const double* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = float(x[i]);
}
void ToDouble(const float* x, double* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = double(x[i]);
}

// Column-major view helpers for a row-major r x c matrix M: read column-major it is Mᵀ (c x r,
// leading dimension c).
template <typename T>
struct Gemm;
// A single vector (n = 1) goes to ?gemv: OpenBLAS's ?gemm packs its operands even then, which
// costs more than the product itself for the single-vector Lanczos of eigsh (eigsh.cc).
template <>
struct Gemm<double> {
  static void Run(CBLAS_TRANSPOSE ta, int m, int n, int k, double alpha, const double* a, int lda, const double* b,
                  int ldb, double beta, double* c, int ldc) {
    if (n == 1) {
      if (ta == CblasNoTrans)
        cblas_dgemv(CblasColMajor, CblasNoTrans, m, k, alpha, a, lda, b, 1, beta, c, 1);
      else
        cblas_dgemv(CblasColMajor, CblasTrans, k, m, alpha, a, lda, b, 1, beta, c, 1);
      return;
    }
    cblas_dgemm(CblasColMajor, ta, CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
};
template <>
struct Gemm<float> {
  static void Run(CBLAS_TRANSPOSE ta, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                  int ldb, float beta, float* c, int ldc) {
    if (n == 1) {
      if (ta == CblasNoTrans)
        cblas_sgemv(CblasColMajor, CblasNoTrans, m, k, alpha, a, lda, b, 1, beta, c, 1);
      else
        cblas_sgemv(CblasColMajor, CblasTrans, k, m, alpha, a, lda, b, 1, beta, c, 1);
      return;
    }
    cblas_sgemm(CblasColMajor, ta, CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
};

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
        Gemm<double>::Run(CblasTrans, I(r), I(b), I(n), 1.0, a + r0 * n, I(n), x, I(n), 0.0, y + r0, I(n));
      }
    } else if (p_ == Precision::F64) {
      // float32 storage, float64 arithmetic: widen a panel of rows at a time.
      const int64_t rowsPer = std::max<int64_t>(1, std::min<int64_t>(n, (1 << 22) / n));
      panel_.resize(static_cast<size_t>(rowsPer * n));
      const float* a = static_cast<const float*>(a_.data);
      for (int64_t r0 = 0; r0 < n && !Stopped(); r0 += rowsPer) {
        const int64_t r = std::min(rowsPer, n - r0);
        ToDouble(a + r0 * n, panel_.data(), r * n);
        Gemm<double>::Run(CblasTrans, I(r), I(b), I(n), 1.0, panel_.data(), I(n), x, I(n), 0.0, y + r0, I(n));
      }
    } else {
      const float* a = a_.f32 ? static_cast<const float*>(a_.data) : a32_.data();
      x32_.resize(static_cast<size_t>(n * b));
      y32_.resize(static_cast<size_t>(n * b));
      ToFloat(x, x32_.data(), n * b);
      for (int64_t r0 = 0; r0 < n && !Stopped(); r0 += 2 * panelRows) {
        const int64_t r = std::min(2 * panelRows, n - r0);
        Gemm<float>::Run(CblasTrans, I(r), I(b), I(n), 1.0f, a + r0 * n, I(n), x32_.data(), I(n), 0.0f,
                         y32_.data() + r0, I(n));
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
      for (int64_t i = 0; i < n * b; ++i) vbuf_[i] = T(v[i]);
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
      for (int64_t i = 0; i < n * b; ++i) y[i] = double(ybuf_[i]);
  }

 private:
  const T* x_;
  int64_t rows_, cols_;
  std::vector<T> vbuf_, ybuf_, t_;
};

// w in T storage, scaled by 2^-e, in a huge-page block of the pool (memory.h). Even when no
// conversion or scaling is needed the copy pays: each product streams w twice, and with w on
// 4 KiB pages eigsh's single-vector solves took ~1.1-1.2x longer (3000 x 200, k = 10 and 50,
// one thread); the copy costs about one product. The copy is also the finiteness check and the
// largest magnitude that picks e, in one pass over w (three passes before: 0.5 of the 4.4 ms
// of CPU of a 3000 x 200, k = 1 solve); only a w that needs scaling is read again.
template <typename T, typename S>
void CopyMeasured(const S* src, T* out, int64_t n, double* amax, bool* finite) {
  // Four lanes of running maxima and of x − x (0 for finite x, NaN otherwise), so that no
  // lane waits on one long dependency chain; a > m ? a : m skips NaN as fmax does.
  double m[4] = {0, 0, 0, 0}, bad[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) {
      const double x = double(src[i + k]), a = std::fabs(x);
      out[i + k] = T(x);
      m[k] = a > m[k] ? a : m[k];
      bad[k] += a - a;
    }
  for (; i < n; ++i) {
    const double x = double(src[i]), a = std::fabs(x);
    out[i] = T(x);
    m[0] = a > m[0] ? a : m[0];
    bad[0] += a - a;
  }
  *amax = std::max(std::max(m[0], m[1]), std::max(m[2], m[3]));
  *finite = (bad[0] + bad[1]) + (bad[2] + bad[3]) == 0;
}

template <typename T>
Status CastChecked(const MatView& w, PooledArray<T>* owned, int* e) {
  owned->reset(std::max(static_cast<size_t>(w.size()), kPoolMinBytes / sizeof(T)));  // pooled even when small
  T* out = owned->get();
  double amax = 0;
  bool finite = true;
  if (w.f32)
    CopyMeasured(static_cast<const float*>(w.data), out, w.size(), &amax, &finite);
  else
    CopyMeasured(static_cast<const double*>(w.data), out, w.size(), &amax, &finite);
  if (!finite) return CheckFinite(w);  // names the first bad entry
  *e = ScaleExponent(amax, std::is_same<T, double>::value ? kSafeExpF64 : kSafeExpF32);
  if (*e == 0) return Status::Ok();
  // ldexp, not a product with 2^-e: for subnormal entries 2^-e itself would overflow. From the
  // source, since its conversion to T may have overflowed or flushed.
  for (int64_t i = 0; i < w.size(); ++i)
    out[i] = T(
        std::ldexp(w.f32 ? double(static_cast<const float*>(w.data)[i]) : static_cast<const double*>(w.data)[i], -*e));
  return Status::Ok();
}

template <typename T>
class GramOp : public SymOperator {
 public:
  GramOp(const MatView& w, bool outer) : outer_(outer), n_(outer ? w.rows : w.cols), core_(nullptr, w.rows, w.cols) {}
  // Copies w (CastChecked): the operator applies once this returned Ok.
  Status Init(const MatView& w) {
    int e = 0;
    Status s = CastChecked<T>(w, &owned_, &e);
    if (!s.ok()) return s;
    scaleExp_ = 2 * e;
    core_ = GramCore<T>(owned_.get(), w.rows, w.cols);
    factor_.x = reinterpret_cast<const double*>(owned_.get());  // read only when T is double (Factor)
    factor_.rows = w.rows;
    factor_.cols = w.cols;
    factor_.outer = outer_;
    return Status::Ok();
  }
  int64_t Size() const override { return n_; }
  void Apply(const double* x, double* y, int64_t b) override { core_.Apply(x, y, b, outer_, 1.0); }
  const GramFactor* Factor() const override {
    return std::is_same<T, double>::value && factor_.Rank() < factor_.Order() ? &factor_ : nullptr;
  }

 private:
  PooledArray<T> owned_;
  bool outer_;
  int64_t n_;
  GramCore<T> core_;
  GramFactor factor_;
};

template <typename T>
Status MakeGram(const MatView& w, bool outer, std::unique_ptr<SymOperator>* out) {
  auto op = std::make_unique<GramOp<T>>(w, outer);
  Status s = op->Init(w);
  if (s.ok()) *out = std::move(op);
  return s;
}

// Distance matrices with a Gram form: D = s1ᵀ + 1sᵀ + c·X Xᵀ with X prepared (centred or
// normalised) rows; sqeuclidean: s = ‖x_i‖², c = −2; cosine/correlation: s = ½, c = −1.
template <typename T>
class DistanceOp : public SymOperator {
 public:
  // The prepared rows (rows x cols, in a huge-page block of the pool: see Cast) and s are filled
  // by the caller through X() and SetNorms before the first Apply.
  DistanceOp(int64_t rows, int64_t cols, double c, int scaleExp)
      : x_(std::max(static_cast<size_t>(rows * cols), kPoolMinBytes / sizeof(T))),
        n_(rows),
        c_(c),
        core_(x_.get(), rows, cols) {
    scaleExp_ = scaleExp;
  }
  T* X() { return x_.get(); }
  void SetNorms(std::vector<double> s) { s_ = std::move(s); }
  int64_t Size() const override { return n_; }
  void Apply(const double* x, double* y, int64_t b) override {
    core_.Apply(x, y, b, true, c_);
    for (int64_t j = 0; j < b; ++j) {
      const double* v = x + j * n_;
      double* out = y + j * n_;
      double sum = 0, sv = 0;
      for (int64_t i = 0; i < n_; ++i) {
        sum += v[i];
        sv += s_[i] * v[i];
      }
      for (int64_t i = 0; i < n_; ++i) out[i] += s_[i] * sum + sv;
    }
  }

 private:
  PooledArray<T> x_;
  std::vector<double> s_;
  int64_t n_;
  double c_;
  GramCore<T> core_;
};

template <typename T>
Status MakeDistanceT(const MatView& x, Metric metric, std::unique_ptr<SymOperator>* out) {
  const int64_t n = x.rows, d = x.cols;
  std::vector<double> row(static_cast<size_t>(d)), mean(static_cast<size_t>(d), 0.0), s(static_cast<size_t>(n));
  // Powers of two (scale.h): sqeuclidean scales the whole matrix by 2^-e (undone by the caller
  // through ScaleExp() = 2e), cosine and correlation each row by its own (no effect on D).
  const int safe = std::is_same<T, double>::value ? kSafeExpF64 : kSafeExpF32;
  const int e = metric == Metric::SqEuclidean ? ScaleExponent(MaxAbs(x), safe) : 0;
  std::unique_ptr<DistanceOp<T>> op(new DistanceOp<T>(n, d, metric == Metric::SqEuclidean ? -2.0 : -1.0, 2 * e));
  T* xs = op->X();
  if (metric == Metric::SqEuclidean) {
    // Translation leaves D unchanged; centring keeps the expansion from cancelling.
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) mean[j] += e == 0 ? x.at(i, j) : std::ldexp(x.at(i, j), -e);
    for (auto& m : mean) m /= double(n);
  }
  for (int64_t i = 0; i < n; ++i) {
    double rm = 0;
    const int ei = metric == Metric::SqEuclidean ? e : ScaleExponent(MaxAbsRow(x, i), safe);
    // ldexp, not a product with 2^-ei: for subnormal rows 2^-ei itself would overflow.
    for (int64_t j = 0; j < d; ++j) row[j] = (ei == 0 ? x.at(i, j) : std::ldexp(x.at(i, j), -ei)) - mean[j];
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
      s[i] = 0.5;
    } else {
      s[i] = nrm2;
    }
    for (int64_t j = 0; j < d; ++j) xs[i * d + j] = T(row[j]);
  }
  op->SetNorms(std::move(s));
  *out = std::move(op);
  return Status::Ok();
}

}  // namespace

std::unique_ptr<SymOperator> DenseOperator(const MatView& a, Precision p) {
  return std::unique_ptr<SymOperator>(new DenseOp(a, p));
}

Status CheckDenseOperatorRange(const MatView& a, Precision p) {
  // ‖A‖₂ ≤ n·max|a_ij| bounds every product and Ritz value from above; below 2^-960 (float32:
  // 2^-100) the products of unit vectors underflow into subnormals and lose all accuracy.
  const double amax = MaxAbs(a), hi = std::ldexp(1.0, p == Precision::F64 ? 1020 : 124) / double(a.rows),
               lo = std::ldexp(1.0, p == Precision::F64 ? -960 : -100);
  if (amax <= hi && (amax >= lo || amax == 0)) return Status::Ok();
  return Status::Range("Expected entries of magnitude within [" + FormatNumber(lo) + ", " + FormatNumber(hi) +
                       "] (or all zero) for " + a.name + " (the solver's products would " +
                       (amax > hi ? "overflow" : "underflow") + ") but received a largest magnitude of " +
                       FormatNumber(amax) + " (rescale the input, or use eigvalsh)");
}

Status GramOperator(const MatView& w, bool outer, Precision p, std::unique_ptr<SymOperator>* out) {
  return p == Precision::F64 ? MakeGram<double>(w, outer, out) : MakeGram<float>(w, outer, out);
}

Status MakeDistanceOperator(const MatView& x, Metric metric, Precision p, std::unique_ptr<SymOperator>* out) {
  if (metric != Metric::SqEuclidean && metric != Metric::Cosine && metric != Metric::Correlation)
    return Status::Range(std::string("Expected a metric with a Gram form ('sqeuclidean', 'cosine' "
                                     "or 'correlation') for distanceOperator option 'metric' but "
                                     "received '") +
                         MetricName(metric) + "' (pass the dense distanceMatrix instead)");
  return p == Precision::F64 ? MakeDistanceT<double>(x, metric, out) : MakeDistanceT<float>(x, metric, out);
}

double DenseOperatorBytes(const MatView& a, Precision p) {
  const double n = double(a.rows);
  if (p == Precision::F32) return (a.f32 ? 0.0 : 4.0 * n * n) + 8.0 * n * 64;
  return a.f32 ? 8.0 * double(std::min<int64_t>(a.rows, (1 << 22) / a.rows + 1)) * n : 0.0;
}

double GramOperatorBytes(const MatView& w, bool outer, Precision p) {
  const double el = p == Precision::F64 ? 8.0 : 4.0;
  const double n = double(outer ? w.rows : w.cols), inner = double(outer ? w.cols : w.rows);
  // A converted or scaled copy of w is counted whether or not it is needed.
  return el * double(w.size()) + el * 64.0 * (2.0 * n + inner);
}

double DistanceOperatorBytes(const MatView& x, Precision p) {
  const double el = p == Precision::F64 ? 8.0 : 4.0;
  return el * double(x.size()) + 8.0 * double(x.rows) * 2.0 + el * 64.0 * double(2 * x.rows + x.cols);
}

}  // namespace specdyn
