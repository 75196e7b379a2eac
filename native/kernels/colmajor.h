// The column-major accessor of the kernels that call BLAS/LAPACK directly, and the int
// dimension CBLAS takes.
#pragma once
#include <cstdint>

namespace specdyn {

// A dimension as the int CBLAS takes (callers have checked that it fits).
inline int I(int64_t v) { return static_cast<int>(v); }

// Element (i, j) of a column-major matrix with leading dimension ld: the one place the
// column-major index arithmetic lives (BLAS/LAPACK blocks are column-major).
template <typename T>
struct ColMajor {
  T* data;
  int64_t ld;
  T& operator()(int64_t i, int64_t j) const { return data[i + j * ld]; }
  T* col(int64_t j) const { return data + j * ld; }
};
template <typename T>
ColMajor<T> ColMajorView(T* data, int64_t ld) {
  return ColMajor<T>{data, ld};
}

}  // namespace specdyn
