// Precision traits: one template body drives both the d* and s* LAPACK routines.
#pragma once
#include <lapacke.h>

#include <algorithm>
#include <limits>

namespace specdyn {

// The workspace size LAPACK asked for in a query. A float query result above 2^24 is rounded,
// so round up and never go below the documented minimum.
template <typename T>
lapack_int WorkSize(T query, double minimum) {
  double q = double(query) * (1.0 + 4.0 * std::numeric_limits<T>::epsilon()) + 1.0;
  return static_cast<lapack_int>(std::max(q, std::max(minimum, 1.0)));
}

template <typename T>
struct Lapack;

template <>
struct Lapack<double> {
  static constexpr const char* syevd = "dsyevd";
  static constexpr const char* syevr = "dsyevr";
  static constexpr const char* gesdd = "dgesdd";
  static lapack_int Syevd(char jobz, lapack_int n, double* a, double* w, double* work,
                          lapack_int lwork, lapack_int* iwork, lapack_int liwork) {
    return LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, jobz, 'L', n, a, n, w, work, lwork, iwork, liwork);
  }
  static lapack_int Syevr(char jobz, lapack_int n, double* a, lapack_int il, lapack_int iu,
                          lapack_int* m, double* w, double* z, lapack_int ldz, lapack_int* isuppz,
                          double* work, lapack_int lwork, lapack_int* iwork, lapack_int liwork) {
    return LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, jobz, 'I', 'L', n, a, n, 0.0, 0.0, il, iu, 0.0, m,
                               w, z, ldz, isuppz, work, lwork, iwork, liwork);
  }
  static lapack_int Gesdd(char jobz, lapack_int m, lapack_int n, double* a, double* s, double* u,
                          lapack_int ldu, double* vt, lapack_int ldvt, double* work,
                          lapack_int lwork, lapack_int* iwork) {
    return LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, jobz, m, n, a, m, s, u, ldu, vt, ldvt, work,
                               lwork, iwork);
  }
};

template <>
struct Lapack<float> {
  static constexpr const char* syevd = "ssyevd";
  static constexpr const char* syevr = "ssyevr";
  static constexpr const char* gesdd = "sgesdd";
  static lapack_int Syevd(char jobz, lapack_int n, float* a, float* w, float* work,
                          lapack_int lwork, lapack_int* iwork, lapack_int liwork) {
    return LAPACKE_ssyevd_work(LAPACK_COL_MAJOR, jobz, 'L', n, a, n, w, work, lwork, iwork, liwork);
  }
  static lapack_int Syevr(char jobz, lapack_int n, float* a, lapack_int il, lapack_int iu,
                          lapack_int* m, float* w, float* z, lapack_int ldz, lapack_int* isuppz,
                          float* work, lapack_int lwork, lapack_int* iwork, lapack_int liwork) {
    return LAPACKE_ssyevr_work(LAPACK_COL_MAJOR, jobz, 'I', 'L', n, a, n, 0.0f, 0.0f, il, iu, 0.0f,
                               m, w, z, ldz, isuppz, work, lwork, iwork, liwork);
  }
  static lapack_int Gesdd(char jobz, lapack_int m, lapack_int n, float* a, float* s, float* u,
                          lapack_int ldu, float* vt, lapack_int ldvt, float* work,
                          lapack_int lwork, lapack_int* iwork) {
    return LAPACKE_sgesdd_work(LAPACK_COL_MAJOR, jobz, m, n, a, m, s, u, ldu, vt, ldvt, work,
                               lwork, iwork);
  }
};

}  // namespace specdyn
