// Power-of-two scaling of inputs whose products would leave the float64 (or float32) range.
//
// Squared norms, Gram entries and Gram-operator products square the entries: below ~1.5e-154
// they underflow to zero, above ~1.3e154 they overflow to Infinity. The kernels that form such
// products scale their input by an exact power of two 2^-e (e from the largest |entry|), work on
// numbers near 1, and scale the results back. A result that is itself outside the normal
// float64 range is refused (CheckResultRange) rather than returned as Infinity or zeros.
#pragma once

#include <string>

#include "matview.h"
#include "status.h"

namespace specdyn {

// Entries with |v| in [2^-kSafeExp, 2^kSafeExp] square and sum without leaving the range of T:
// no scaling is needed then (the common case, which reads the input in place).
constexpr int kSafeExpF64 = 400;
constexpr int kSafeExpF32 = 40;
inline int SafeExp(Precision p) { return p == Precision::F64 ? kSafeExpF64 : kSafeExpF32; }

// max |m_ij| over the whole matrix (rows0 ≤ i < rows1 with the overload below).
double MaxAbs(const MatView& m);
double MaxAbsRow(const MatView& m, int64_t row);
// MaxAbsRow, and *finite = whether every entry of the row is finite, in the same pass.
double MaxAbsRowFinite(const MatView& m, int64_t row, bool* finite);

// The exponent e such that 2^-e · amax lies in [0.5, 1), or 0 when amax is 0 or within
// [2^-safe, 2^safe] (no scaling needed).
int ScaleExponent(double amax, int safe);

// x · 2^e written like JavaScript's String(x) with 3 significant digits even where the value
// itself is not representable (e.g. "3.2e-399"): for messages about out-of-range results.
std::string FormatScaled(double x, int e);

// Refuses a result whose largest magnitude, largest · 2^e, is beyond float64: overflow
// (> DBL_MAX) or, when it is non-zero, below the smallest normal number (underflow loses all
// relative accuracy). what: the result ("a Gram matrix", "eigenvalues"); name: the argument;
// hint: what to do instead (appended in parentheses).
Status CheckResultRange(double largest, int e, const std::string& what, const std::string& name,
                        const std::string& hint);

// Refuses a result holding a non-finite number (LAPACK overflowed on entries near the float64
// limit, whose eigen- or singular values are beyond it): RangeError naming `name`.
Status CheckFiniteResult(const double* v, int64_t n, const std::string& what, const std::string& name);

}  // namespace specdyn
