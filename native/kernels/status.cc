#include "status.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

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

}  // namespace specdyn
