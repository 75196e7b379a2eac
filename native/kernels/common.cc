// Status helpers, input checks, thread control and BLAS identification.
#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <new>
#include <stdexcept>
#include <thread>

#include "kernels.h"

// OpenBLAS extensions. Against shared libraries they are declared weak, so that a build against
// another BLAS still links (each use checks the symbol first). A static link needs strong
// references: a weak one would not pull the archive member in.
#if SPECDYN_STATIC_BLAS
#define SPECDYN_WEAK
#else
#define SPECDYN_WEAK __attribute__((weak))
#endif
extern "C" {
void openblas_set_num_threads(int) SPECDYN_WEAK;
int openblas_get_num_threads(void) SPECDYN_WEAK;
char* openblas_get_config(void) SPECDYN_WEAK;
char* openblas_get_corename(void) SPECDYN_WEAK;
}

namespace specdyn {

Status Status::Lapack(const std::string& routine, int info) {
  Status s;
  s.kind = ErrKind::Lapack;
  s.routine = routine;
  s.info = info;
  char buf[256];
  if (info > 0) {
    std::snprintf(buf, sizeof buf,
                  "Expected %s to converge but received info = %d (the algorithm failed to "
                  "converge; the matrix may be badly scaled)",
                  routine.c_str(), info);
  } else {
    std::snprintf(buf, sizeof buf,
                  "Expected valid arguments for %s but received info = %d (argument %d had an "
                  "illegal value; please report this as a specdyn bug)",
                  routine.c_str(), info, -info);
  }
  s.message = buf;
  return s;
}

std::string FormatNumber(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x == 0) return "0";  // String(-0) is "0" too
  // Shortest round-trip digits in scientific form, then ECMAScript's Number::toString layout.
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  std::string out = x < 0 ? "-" : "";
  const size_t start = x < 0 ? 1 : 0, e = sci.find('e');
  std::string digits;
  for (size_t i = start; i < e; ++i)
    if (sci[i] != '.') digits += sci[i];
  const int exp10 = std::atoi(sci.c_str() + e + 1);
  const int k = int(digits.size()), n = exp10 + 1;  // value = 0.digits × 10^n
  if (k <= n && n <= 21) {
    out += digits + std::string(size_t(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, size_t(n)) + "." + digits.substr(size_t(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(size_t(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
  }
  return out;
}

namespace {
std::atomic<int> g_faultSite{0}, g_faultKind{0};
}  // namespace

void ArmFault(FaultSite where, FaultKind what) {
  g_faultKind.store(int(what));
  g_faultSite.store(int(where));
}

void FaultPoint(FaultSite where) {
  int expected = int(where);
  if (where == FaultSite::None || !g_faultSite.compare_exchange_strong(expected, 0)) return;
  switch (FaultKind(g_faultKind.load())) {
    case FaultKind::LengthError: throw std::length_error("injected fault (std::length_error)");
    case FaultKind::BadAlloc: throw std::bad_alloc();
    case FaultKind::Unknown: throw 42;  // not a std::exception
  }
}

const char* MetricName(Metric m) {
  switch (m) {
    case Metric::Euclidean: return "euclidean";
    case Metric::SqEuclidean: return "sqeuclidean";
    case Metric::Cosine: return "cosine";
    case Metric::Angular: return "angular";
    case Metric::Correlation: return "correlation";
  }
  return "?";
}

template <typename T>
static int64_t FirstNonFinite(const T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
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
                m.name.c_str(), std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"),
                static_cast<long long>(bad), static_cast<long long>(bad / m.cols),
                static_cast<long long>(bad % m.cols));
  return Status::Range(buf);
}

Status CheckFloat32Range(const MatView& m) {
  if (m.f32) return Status::Ok();
  const double* p = static_cast<const double*>(m.data);
  const double limit = double(std::numeric_limits<float>::max());
  for (int64_t i = 0; i < m.size(); ++i) {
    if (std::fabs(p[i]) > limit) {
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "Expected values within float32 range (|v| <= 3.4e38) for %s.data (precision "
                    "'float32') but received %.6g at index %lld",
                    m.name.c_str(), p[i], static_cast<long long>(i));
      return Status::Range(buf);
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
template <typename T>
void SymScan(const T* a, int64_t n, double* amax, double* dmax) {
  const int64_t B = 64;
  double am = 0, dm = 0;
  for (int64_t i0 = 0; i0 < n; i0 += B)
    for (int64_t j0 = i0; j0 < n; j0 += B)
      for (int64_t i = i0; i < std::min(i0 + B, n); ++i)
        for (int64_t j = std::max(j0, i); j < std::min(j0 + B, n); ++j) {
          const double aij = double(a[i * n + j]), aji = double(a[j * n + i]);
          am = std::fmax(am, std::fabs(aij));
          dm = std::fmax(dm, std::fabs(aij - aji));
        }
  *amax = am;
  *dmax = dm;
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
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "Expected a symmetric matrix (|a[i][j] - a[j][i]| <= %.3g * max|a|) for %s but "
                "received a[%lld][%lld] = %.17g and a[%lld][%lld] = %.17g (relative asymmetry "
                "%.3g)",
                rtol, m.name.c_str(), static_cast<long long>(bi), static_cast<long long>(bj),
                m.at(bi, bj), static_cast<long long>(bj), static_cast<long long>(bi),
                m.at(bj, bi), amax > 0 ? dmax / amax : dmax);
  return Status::Range(buf);
}

}  // namespace

Status CheckSymmetric(const MatView& m, double rtol) {
  double amax, dmax;
  if (m.f32) SymScan(static_cast<const float*>(m.data), m.rows, &amax, &dmax);
  else SymScan(static_cast<const double*>(m.data), m.rows, &amax, &dmax);
  if (dmax <= rtol * amax) return Status::Ok();
  return AsymmetryError(m, rtol);
}

int BlasThreads() { return openblas_get_num_threads ? openblas_get_num_threads() : 1; }

void SetBlasThreads(int n) {
  if (openblas_set_num_threads) openblas_set_num_threads(n);
}

int HardwareThreads() {
  unsigned h = std::thread::hardware_concurrency();
  return h == 0 ? 1 : static_cast<int>(h);
}

std::string BlasConfig() {
  return openblas_get_config ? std::string(openblas_get_config()) : std::string("unknown BLAS");
}

std::string BlasCore() {
  return openblas_get_corename ? std::string(openblas_get_corename()) : std::string("unknown");
}

}  // namespace specdyn
