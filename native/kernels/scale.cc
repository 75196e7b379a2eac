#include "scale.h"

#include <cfloat>
#include <cmath>
#include <cstdio>

namespace specdyn {

namespace {
// *bad (when given) gains a − a for every |entry| a: 0 while all are finite, NaN otherwise.
template <typename T>
double MaxAbsOf(const T* p, int64_t n, double* bad = nullptr) {
  // a > m ? a : m skips NaN exactly as fmax(m, a) does, without fmax's library call; four
  // running maxima and four sums of a − a keep the loop from waiting on one dependency chain
  // (one sum was a chain of n additions: 11 % of the samples of a 3000 x 200, k = 1 eigsh call).
  double m[4] = {0, 0, 0, 0}, b[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) {
      const double a = std::fabs(double(p[i + k]));
      m[k] = a > m[k] ? a : m[k];
      b[k] += a - a;
    }
  for (; i < n; ++i) {
    const double a = std::fabs(double(p[i]));
    m[0] = a > m[0] ? a : m[0];
    b[0] += a - a;
  }
  if (bad) *bad += (b[0] + b[1]) + (b[2] + b[3]);
  const double m01 = m[1] > m[0] ? m[1] : m[0], m23 = m[3] > m[2] ? m[3] : m[2];
  return m23 > m01 ? m23 : m01;
}
}  // namespace

double MaxAbs(const MatView& m) {
  return m.f32 ? MaxAbsOf(static_cast<const float*>(m.data), m.size())
               : MaxAbsOf(static_cast<const double*>(m.data), m.size());
}

double MaxAbsRowFinite(const MatView& m, int64_t row, bool* finite) {
  double bad = 0;
  const double r = m.f32 ? MaxAbsOf(static_cast<const float*>(m.data) + row * m.cols, m.cols, &bad)
                         : MaxAbsOf(static_cast<const double*>(m.data) + row * m.cols, m.cols, &bad);
  *finite = bad == 0;
  return r;
}

double MaxAbsRow(const MatView& m, int64_t row) {
  return m.f32 ? MaxAbsOf(static_cast<const float*>(m.data) + row * m.cols, m.cols)
               : MaxAbsOf(static_cast<const double*>(m.data) + row * m.cols, m.cols);
}

int ScaleExponent(double amax, int safe) {
  if (!(amax > 0) || !std::isfinite(amax)) return 0;
  const int e = std::ilogb(amax);  // 2^e ≤ amax < 2^(e+1)
  if (e >= -safe && e < safe) return 0;
  return e + 1;
}

std::string FormatScaled(double x, int e) {
  if (x == 0 || !std::isfinite(x)) return FormatNumber(x);
  const double l = std::log10(std::fabs(x)) + double(e) * std::log10(2.0);
  double ex = std::floor(l), mant = std::pow(10.0, l - ex);
  if (mant >= 9.995) {
    mant /= 10;
    ex += 1;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%.3g", x < 0 ? "-" : "", mant);
  std::string s = buf;
  if (ex != 0) s += (ex > 0 ? "e+" : "e-") + std::to_string(static_cast<long long>(std::fabs(ex)));
  return s;
}

Status CheckResultRange(double largest, int e, const std::string& what, const std::string& name,
                        const std::string& hint) {
  const double a = std::fabs(largest), v = std::ldexp(a, e);
  if (std::isfinite(v) && (a == 0 || v >= DBL_MIN)) return Status::Ok();
  const bool over = !std::isfinite(v);
  return Status::Range("Expected " + what + " within the float64 range for " + name + " but received " +
                       (over ? "a largest magnitude of about " : "a largest magnitude of only about ") +
                       FormatScaled(a, e) + (over ? ", beyond 1.8e+308" : ", below 2.2e-308") + " (" + hint + ")");
}

Status CheckFiniteResult(const double* v, int64_t n, const std::string& what, const std::string& name) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i]))
      return Status::Range("Expected " + what + " within the float64 range for " + name + " but received " +
                           FormatNumber(v[i]) + " (entries too large: rescale the input)");
  return Status::Ok();
}

}  // namespace specdyn
