#include "checks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace specdyn {

// Blocks of 1024 are screened branch-free (x − x is 0 for finite x, NaN otherwise: one sum
// per block, four accumulators); only a block that fails is searched for its first bad entry.
template <typename T>
static int64_t FirstNonFinite(const T* p, int64_t n) {
  constexpr int64_t B = 1024;
  for (int64_t b = 0; b < n; b += B) {
    const int64_t e = std::min(n, b + B);
    T acc[4] = {0, 0, 0, 0};
    int64_t i = b;
    for (; i + 4 <= e; i += 4)
      for (int k = 0; k < 4; ++k) acc[k] += p[i + k] - p[i + k];
    for (; i < e; ++i) acc[0] += p[i] - p[i];
    if ((acc[0] + acc[1]) + (acc[2] + acc[3]) == T(0)) continue;
    for (int64_t i = b; i < e; ++i)
      if (!std::isfinite(p[i])) return i;
  }
  return -1;
}

Status CheckFinite(const MatView& m) {
  int64_t bad = m.f32 ? FirstNonFinite(static_cast<const float*>(m.data), m.size())
                      : FirstNonFinite(static_cast<const double*>(m.data), m.size());
  if (bad < 0) return Status::Ok();
  double v = m.at(bad / m.cols, bad % m.cols);
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "Expected finite values for %s.data but received %s at index %lld (row %lld, "
                "column %lld)",
                m.name.c_str(), std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"), static_cast<long long>(bad),
                static_cast<long long>(bad / m.cols), static_cast<long long>(bad % m.cols));
  return Status::Range(buf);
}

Status CheckFloat32Range(const MatView& m) {
  if (m.f32) return Status::Ok();
  const double* p = static_cast<const double*>(m.data);
  const double limit = double(std::numeric_limits<float>::max());
  for (int64_t i = 0; i < m.size(); ++i) {
    if (std::fabs(p[i]) > limit) {
      return Status::Range("Expected values within float32 range (|v| <= 3.4e38) for " + m.name +
                           ".data (precision 'float32') but received " + FormatNumber(p[i]) + " at index " +
                           std::to_string(i));
    }
  }
  return Status::Ok();
}

Status CheckInput(const MatView& m, Precision p) {
  Status s = CheckFinite(m);
  if (s.ok() && p == Precision::F32) s = CheckFloat32Range(m);
  return s;
}

namespace {

// max|a_ij| and max|a_ij − a_ji| over the upper triangle, tile by tile: reading a_ji along a
// column one row at a time would miss the cache on every element (~20 ms at N = 2000).
// *finite (when given) is set to whether every entry is finite: x − x is 0 for finite x and
// NaN otherwise, so one sum carries the answer without a branch.
template <typename T>
void SymScan(const T* a, int64_t n, double* amax, double* dmax, bool* finite = nullptr) {
  const int64_t B = 64;
  double am = 0, dm = 0, bad = 0;
  for (int64_t i0 = 0; i0 < n; i0 += B)
    for (int64_t j0 = i0; j0 < n; j0 += B)
      for (int64_t i = i0; i < std::min(i0 + B, n); ++i)
        for (int64_t j = std::max(j0, i); j < std::min(j0 + B, n); ++j) {
          const double aij = double(a[i * n + j]), aji = double(a[j * n + i]);
          // x > m ? x : m skips NaN as fmax(m, x) does, without fmax's library call per entry
          const double x = std::fabs(aij), y = std::fabs(aij - aji);
          am = x > am ? x : am;
          dm = y > dm ? y : dm;
          if (finite) bad += (aij - aij) + (aji - aji);
        }
  *amax = am;
  *dmax = dm;
  if (finite) *finite = bad == 0;
}

// The slow scan that names the worst pair, run only once the check has failed.
Status AsymmetryError(const MatView& m, double rtol) {
  const int64_t n = m.rows;
  double amax = 0, dmax = 0;
  int64_t bi = 0, bj = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = i; j < n; ++j) {
      double aij = m.at(i, j), aji = m.at(j, i);
      amax = std::fmax(amax, std::fabs(aij));
      double d = std::fabs(aij - aji);
      if (d > dmax) {
        dmax = d;
        bi = i;
        bj = j;
      }
    }
  }
  if (dmax <= rtol * amax) return Status::Ok();
  // Received values in full (shortest round-trip); the asymmetry ratio is a summary (3 digits).
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.3g", amax > 0 ? dmax / amax : dmax);
  const auto entry = [&](int64_t i, int64_t j) {
    return "a[" + std::to_string(i) + "][" + std::to_string(j) + "] = " + FormatNumber(m.at(i, j));
  };
  return Status::Range("Expected a symmetric matrix (|a[i][j] - a[j][i]| <= " + FormatNumber(rtol) + " * max|a|) for " +
                       m.name + " but received " + entry(bi, bj) + " and " + entry(bj, bi) + " (relative asymmetry " +
                       ratio + ")");
}

}  // namespace

Status CheckSymmetricInput(const MatView& m, Precision p, double rtol) {
  double amax, dmax;
  bool finite;
  if (m.f32)
    SymScan(static_cast<const float*>(m.data), m.rows, &amax, &dmax, &finite);
  else
    SymScan(static_cast<const double*>(m.data), m.rows, &amax, &dmax, &finite);
  // Every lower-triangle entry is within dmax of its upper-triangle twin, so amax + dmax bounds
  // them all; past that (or on any failure) the separate checks name the culprit.
  const bool rangeOk = p != Precision::F32 || m.f32 || amax + dmax <= double(std::numeric_limits<float>::max());
  if (!finite || !rangeOk || !(dmax <= rtol * amax)) {
    Status s = CheckInput(m, p);
    if (!s.ok()) return s;
  }
  if (dmax <= rtol * amax) return Status::Ok();
  return AsymmetryError(m, rtol);
}

Status CheckSymmetric(const MatView& m, double rtol) {
  double amax, dmax;
  if (m.f32)
    SymScan(static_cast<const float*>(m.data), m.rows, &amax, &dmax);
  else
    SymScan(static_cast<const double*>(m.data), m.rows, &amax, &dmax);
  if (dmax <= rtol * amax) return Status::Ok();
  return AsymmetryError(m, rtol);
}

}  // namespace specdyn
