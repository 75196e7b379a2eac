// Gram matrices and pairwise distances through one BLAS-3 ?syrk.
//
// d²(i,j) = g_ii + g_jj − 2 g_ij loses relative accuracy when two rows nearly coincide (the
// three terms cancel). Such pairs are detected from the Gram entries and recomputed directly
// from the rows, so every entry keeps full relative accuracy at the cost of O(D) per close pair.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include "distance.h"
#include "fault.h"
#include "memory.h"
#include "scale.h"
#include "threads.h"

namespace specdyn {
namespace {

// Row boundaries that give each of t threads about the same number of upper-triangle entries.
std::vector<int64_t> TriangleSplit(int64_t n, int t) {
  std::vector<int64_t> b(t + 1, n);
  b[0] = 0;
  double total = 0.5 * double(n) * double(n + 1), acc = 0;
  int k = 1;
  for (int64_t i = 0; i < n && k < t; ++i) {
    acc += double(n - i);
    if (acc >= total * k / t) b[k++] = i + 1;
  }
  return b;
}

template <typename F>
void ParallelTriangle(int64_t n, F fn) {
  int t = (n < 256) ? 1 : std::min(BlasThreads(), HardwareThreads());
  t = std::max(t, 1);
  auto b = TriangleSplit(n, t);
  ParallelFor(t, t, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) fn(b[c], b[c + 1]);
  });
}

// Copies the upper triangle into the lower one, tile by tile so reads stay in cache.
void MirrorUpper(double* out, int64_t n) {
  constexpr int64_t B = 64;
  const int64_t nb = (n + B - 1) / B;
  int t = (n < 256) ? 1 : std::max(1, std::min(BlasThreads(), HardwareThreads()));
  ParallelFor(nb, t, [&](int64_t b0, int64_t b1) {
    for (int64_t ib = b0; ib < b1; ++ib) {
      const int64_t i0 = ib * B, i1 = std::min(n, i0 + B);
      for (int64_t j0 = 0; j0 <= i0; j0 += B) {
        const int64_t j1 = std::min(n, j0 + B);
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = j0; j < std::min(j1, i); ++j) out[i * n + j] = out[j * n + i];
      }
    }
  });
}

template <typename T>
double SqDiff(const T* a, const T* b, int64_t d) {
  double s = 0;
  for (int64_t k = 0; k < d; ++k) {
    double t = double(a[k]) - double(b[k]);
    s += t * t;
  }
  return s;
}

// ‖x_i/n_i − x_j/n_j‖² without cancellation for nearly parallel rows: with δ = x_i − x_j,
// x_i/n_i − x_j/n_j = δ/n_i + x_j (n_j − n_i)/(n_i n_j), and n_j − n_i = −δ·(x_i + x_j)/(n_i + n_j).
template <typename T>
double UnitChord2(const T* a, double na, const T* b, double nb, int64_t d) {
  if (na > 2 * nb || nb > 2 * na) {
    // Norms far apart: the expansion below cancels (both of its terms grow like nb/na), while
    // the unit vectors themselves subtract accurately.
    double s = 0;
    for (int64_t k = 0; k < d; ++k) {
      const double t = double(a[k]) / na - double(b[k]) / nb;
      s += t * t;
    }
    return s;
  }
  double dn = 0;
  for (int64_t k = 0; k < d; ++k) dn -= (double(a[k]) - double(b[k])) * (double(a[k]) + double(b[k]));
  const double c = dn / (na + nb) / (na * nb);
  double s = 0;
  for (int64_t k = 0; k < d; ++k) {
    double t = (double(a[k]) - double(b[k])) / na + double(b[k]) * c;
    s += t * t;
  }
  return s;
}

// Turns the upper triangle of a Gram matrix (in out, row-major n x n) into distances.
// rows: the (possibly centred) data the Gram matrix was built from, used for close pairs.
template <typename T>
Status GramToDistance(const T* rows, int64_t n, int64_t d, Metric metric, double closeTol, const std::string& name,
                      double* out) {
  std::vector<double> sq(n), inv(n);
  for (int64_t i = 0; i < n; ++i) {
    sq[i] = out[i * n + i];
    if (!std::isfinite(sq[i])) {
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "Expected rows whose squared norm is finite in %s for %s but received row %lld "
                    "with squared norm Infinity (entries too large; rescale the input)",
                    sizeof(T) == 4 ? "float32 (precision 'float32')" : "float64", name.c_str(),
                    static_cast<long long>(i));
      return Status::Range(buf);
    }
  }
  const bool angular = metric == Metric::Cosine || metric == Metric::Angular || metric == Metric::Correlation;
  if (angular) {
    for (int64_t i = 0; i < n; ++i) {
      if (!(sq[i] > 0)) {
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "Expected rows with %s for %s (metric '%s') but received a %s row at index "
                      "%lld",
                      metric == Metric::Correlation ? "non-zero variance" : "non-zero norm", name.c_str(),
                      MetricName(metric), metric == Metric::Correlation ? "constant" : "zero",
                      static_cast<long long>(i));
        return Status::Range(buf);
      }
      inv[i] = 1.0 / std::sqrt(sq[i]);
    }
  }
  ParallelTriangle(n, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      double* row = out + i * n;
      row[i] = 0.0;
      const T* xi = rows + i * d;
      if (!angular) {
        for (int64_t j = i + 1; j < n; ++j) {
          double s = sq[i] + sq[j];
          double d2 = s - 2.0 * row[j];
          if (d2 < closeTol * s) d2 = SqDiff(xi, rows + j * d, d);
          d2 = std::max(d2, 0.0);
          row[j] = metric == Metric::SqEuclidean ? d2 : std::sqrt(d2);
        }
      } else {
        for (int64_t j = i + 1; j < n; ++j) {
          double c = row[j] * inv[i] * inv[j];
          double v;
          if (1.0 - c < closeTol) {
            // Chord length of the two unit vectors, computed directly.
            double chord2 = UnitChord2(xi, 1.0 / inv[i], rows + j * d, 1.0 / inv[j], d);
            v = metric == Metric::Angular ? 2.0 * std::asin(std::min(1.0, 0.5 * std::sqrt(chord2))) : 0.5 * chord2;
          } else {
            c = std::min(1.0, std::max(-1.0, c));
            v = metric == Metric::Angular ? std::acos(c) : 1.0 - c;
          }
          row[j] = v;
        }
      }
    }
  });
  MirrorUpper(out, n);
  return Status::Ok();
}

// Copies x into T storage, scaling row i by 2^-exps[i] when exps is given (exact: a power of
// two) and then centring each row when asked (correlation distance).
template <typename T>
const T* Working(const MatView& x, bool centre, PooledArray<T>& w, const std::vector<int>* exps = nullptr) {
  const int64_t n = x.rows, d = x.cols;
  w.reset(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; ++i) {
    const int e = exps ? (*exps)[size_t(i)] : 0;
    double mean = 0;
    if (centre) {
      for (int64_t k = 0; k < d; ++k) mean += std::ldexp(x.at(i, k), -e);
      mean /= double(d);
    }
    T* wi = w.get() + i * d;
    for (int64_t k = 0; k < d; ++k) wi[k] = static_cast<T>(std::ldexp(x.at(i, k), -e) - mean);
  }
  return w.get();
}

// Multiplies the n x n result by 2^e after checking that its largest entry stays in range.
Status Unscale(double* out, int64_t n, int e, const std::string& what, const std::string& name) {
  double largest = 0;
  for (int64_t i = 0; i < n * n; ++i) largest = std::fmax(largest, std::fabs(out[i]));
  Status s = CheckResultRange(largest, e, what, name,
                              e > 0 ? "entries too large: rescale the input" : "entries too small: rescale the input");
  if (!s.ok()) return s;
  for (int64_t i = 0; i < n * n; ++i) out[i] = std::ldexp(out[i], e);
  return s;
}

void UpperGram(const double* a, int64_t n, int64_t d, double* out) {
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, int(n), int(d), 1.0, a, int(d), 0.0, out, int(n));
}

// Single-precision Gram into out (upper triangle, widened to double).
void UpperGramF32(const float* a, int64_t n, int64_t d, double* out) {
  PooledArray<float> g(static_cast<size_t>(n * n));
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, int(n), int(d), 1.0f, a, int(d), 0.0f, g.get(), int(n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) out[i * n + j] = g[i * n + j];
}

}  // namespace

Status Gram(const MatView& x, Precision p, double* out) {
  FaultPoint(FaultSite::Kernel);
  const int64_t n = x.rows, d = x.cols;
  // Entries whose squares would underflow or overflow are scaled by 2^-e first (scale.h).
  const int e = ScaleExponent(MaxAbs(x), SafeExp(p));
  std::vector<int> exps;
  if (e != 0) exps.assign(size_t(n), e);
  const std::vector<int>* ex = e != 0 ? &exps : nullptr;
  if (p == Precision::F64) {
    PooledArray<double> copy;
    const double* a = (x.f32 || ex) ? Working<double>(x, false, copy, ex) : static_cast<const double*>(x.data);
    UpperGram(a, n, d, out);
  } else {
    PooledArray<float> copy;
    const float* a = (x.f32 && !ex) ? static_cast<const float*>(x.data) : Working<float>(x, false, copy, ex);
    UpperGramF32(a, n, d, out);
  }
  MirrorUpper(out, n);
  return e != 0 ? Unscale(out, n, 2 * e, "a Gram matrix", x.name) : Status::Ok();
}

Status Distance(const MatView& x, Metric metric, Precision p, double* out) {
  FaultPoint(FaultSite::Kernel);
  const int64_t n = x.rows, d = x.cols;
  const bool centre = metric == Metric::Correlation;
  const bool angular = metric == Metric::Cosine || metric == Metric::Angular || metric == Metric::Correlation;
  // Scaling by powers of two (scale.h): cosine-type metrics do not depend on a row's scale, so
  // each row gets its own exponent (and none is scaled back); the Euclidean ones scale the whole
  // matrix by one exponent, undone on the distances.
  const int safe = SafeExp(p);
  std::vector<int> exps;
  int e = 0;
  if (angular) {
    for (int64_t i = 0; i < n; ++i) {
      const int ei = ScaleExponent(MaxAbsRow(x, i), safe);
      if (ei != 0 && exps.empty()) exps.assign(size_t(n), 0);
      if (ei != 0) exps[size_t(i)] = ei;
    }
  } else {
    e = ScaleExponent(MaxAbs(x), safe);
    if (e != 0) exps.assign(size_t(n), e);
  }
  const std::vector<int>* ex = exps.empty() ? nullptr : &exps;
  Status s;
  if (p == Precision::F64) {
    // Pairs whose Gram expansion would lose more than ~1e-13 relative accuracy are recomputed.
    const double tol = 1e-3;
    PooledArray<double> copy;
    const double* a =
        (x.f32 || centre || ex) ? Working<double>(x, centre, copy, ex) : static_cast<const double*>(x.data);
    UpperGram(a, n, d, out);
    s = GramToDistance(a, n, d, metric, tol, x.name, out);
  } else {
    // float32 Gram (opt-in speed): close pairs are still recomputed in double from the rows.
    const double tol = 3e-2;
    PooledArray<float> copy;
    const float* a =
        (x.f32 && !centre && !ex) ? static_cast<const float*>(x.data) : Working<float>(x, centre, copy, ex);
    UpperGramF32(a, n, d, out);
    s = GramToDistance(a, n, d, metric, tol, x.name, out);
  }
  if (!s.ok() || e == 0) return s;
  return Unscale(out, n, metric == Metric::SqEuclidean ? 2 * e : e, "distances", x.name);
}

double DistanceWorkBytes(const MatView& x, Metric metric, Precision p) {
  const double n = double(x.rows), d = double(x.cols);
  double bytes = 16.0 * n;  // norms
  // A working copy of x (widened, centred, or scaled: scale.h) is counted whether or not needed.
  (void)metric;
  if (p == Precision::F64) {
    bytes += 8.0 * n * d;
  } else {
    bytes += 4.0 * n * n + 4.0 * n * d;
  }
  return bytes;
}

}  // namespace specdyn
