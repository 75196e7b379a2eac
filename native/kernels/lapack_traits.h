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
  static constexpr const char* sytrd = "dsytrd";
  static constexpr const char* sterf = "dsterf";
  static constexpr const char* stemr = "dstemr";
  static constexpr const char* ormtr = "dormtr";
  static constexpr const char* stebz = "dstebz";
  static constexpr const char* stein = "dstein";
  // Bisection for the eigenvalues il..iu of the tridiagonal (d, e), ordered by split-off block
  // (what ?stein reads), abstol 0 (LAPACK's default); then their eigenvectors by inverse
  // iteration: the pair ?syevr uses for an index range.
  static lapack_int Stebz(lapack_int n, const double* d, const double* e, lapack_int il, lapack_int iu, lapack_int* m,
                          lapack_int* nsplit, double* w, lapack_int* iblock, lapack_int* isplit, double* work,
                          lapack_int* iwork) {
    return LAPACKE_dstebz_work('I', 'B', n, 0.0, 0.0, il, iu, 0.0, d, e, m, nsplit, w, iblock, isplit, work, iwork);
  }
  static lapack_int Stein(lapack_int n, const double* d, const double* e, lapack_int m, const double* w,
                          const lapack_int* iblock, const lapack_int* isplit, double* z, double* work,
                          lapack_int* iwork, lapack_int* ifail) {
    return LAPACKE_dstein_work(LAPACK_COL_MAJOR, n, d, e, m, w, iblock, isplit, z, n, work, iwork, ifail);
  }
  static lapack_int Sytrd(lapack_int n, double* a, double* d, double* e, double* tau, double* work, lapack_int lwork) {
    return LAPACKE_dsytrd_work(LAPACK_COL_MAJOR, 'L', n, a, n, d, e, tau, work, lwork);
  }
  static lapack_int Sterf(lapack_int n, double* d, double* e) { return LAPACKE_dsterf(n, d, e); }
  static lapack_int Stemr(lapack_int n, double* d, double* e, lapack_int il, lapack_int iu, lapack_int* m, double* w,
                          double* z, lapack_int nzc, lapack_int* isuppz, lapack_logical* tryrac) {
    return LAPACKE_dstemr(LAPACK_COL_MAJOR, 'V', 'I', n, d, e, 0.0, 0.0, il, iu, m, w, z, n, nzc, isuppz, tryrac);
  }
  static lapack_int Ormtr(lapack_int n, lapack_int k, const double* a, const double* tau, double* c, double* work,
                          lapack_int lwork) {
    return LAPACKE_dormtr_work(LAPACK_COL_MAJOR, 'L', 'L', 'N', n, k, a, n, tau, c, n, work, lwork);
  }
  static lapack_int Syevd(char jobz, lapack_int n, double* a, double* w, double* work, lapack_int lwork,
                          lapack_int* iwork, lapack_int liwork) {
    return LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, jobz, 'L', n, a, n, w, work, lwork, iwork, liwork);
  }
  static lapack_int Syevr(char jobz, lapack_int n, double* a, lapack_int il, lapack_int iu, lapack_int* m, double* w,
                          double* z, lapack_int ldz, lapack_int* isuppz, double* work, lapack_int lwork,
                          lapack_int* iwork, lapack_int liwork) {
    return LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, jobz, 'I', 'L', n, a, n, 0.0, 0.0, il, iu, 0.0, m, w, z, ldz, isuppz,
                               work, lwork, iwork, liwork);
  }
  static lapack_int Gesdd(char jobz, lapack_int m, lapack_int n, double* a, double* s, double* u, lapack_int ldu,
                          double* vt, lapack_int ldvt, double* work, lapack_int lwork, lapack_int* iwork) {
    return LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, jobz, m, n, a, m, s, u, ldu, vt, ldvt, work, lwork, iwork);
  }
};

template <>
struct Lapack<float> {
  static constexpr const char* syevd = "ssyevd";
  static constexpr const char* syevr = "ssyevr";
  static constexpr const char* gesdd = "sgesdd";
  static constexpr const char* sytrd = "ssytrd";
  static constexpr const char* sterf = "ssterf";
  static constexpr const char* stemr = "sstemr";
  static constexpr const char* ormtr = "sormtr";
  static constexpr const char* stebz = "sstebz";
  static constexpr const char* stein = "sstein";
  // Bisection for the eigenvalues il..iu of the tridiagonal (d, e), ordered by split-off block
  // (what ?stein reads), abstol 0 (LAPACK's default); then their eigenvectors by inverse
  // iteration: the pair ?syevr uses for an index range.
  static lapack_int Stebz(lapack_int n, const float* d, const float* e, lapack_int il, lapack_int iu, lapack_int* m,
                          lapack_int* nsplit, float* w, lapack_int* iblock, lapack_int* isplit, float* work,
                          lapack_int* iwork) {
    return LAPACKE_sstebz_work('I', 'B', n, 0.0f, 0.0f, il, iu, 0.0f, d, e, m, nsplit, w, iblock, isplit, work, iwork);
  }
  static lapack_int Stein(lapack_int n, const float* d, const float* e, lapack_int m, const float* w,
                          const lapack_int* iblock, const lapack_int* isplit, float* z, float* work, lapack_int* iwork,
                          lapack_int* ifail) {
    return LAPACKE_sstein_work(LAPACK_COL_MAJOR, n, d, e, m, w, iblock, isplit, z, n, work, iwork, ifail);
  }
  static lapack_int Sytrd(lapack_int n, float* a, float* d, float* e, float* tau, float* work, lapack_int lwork) {
    return LAPACKE_ssytrd_work(LAPACK_COL_MAJOR, 'L', n, a, n, d, e, tau, work, lwork);
  }
  static lapack_int Sterf(lapack_int n, float* d, float* e) { return LAPACKE_ssterf(n, d, e); }
  static lapack_int Stemr(lapack_int n, float* d, float* e, lapack_int il, lapack_int iu, lapack_int* m, float* w,
                          float* z, lapack_int nzc, lapack_int* isuppz, lapack_logical* tryrac) {
    return LAPACKE_sstemr(LAPACK_COL_MAJOR, 'V', 'I', n, d, e, 0.0f, 0.0f, il, iu, m, w, z, n, nzc, isuppz, tryrac);
  }
  static lapack_int Ormtr(lapack_int n, lapack_int k, const float* a, const float* tau, float* c, float* work,
                          lapack_int lwork) {
    return LAPACKE_sormtr_work(LAPACK_COL_MAJOR, 'L', 'L', 'N', n, k, a, n, tau, c, n, work, lwork);
  }
  static lapack_int Syevd(char jobz, lapack_int n, float* a, float* w, float* work, lapack_int lwork, lapack_int* iwork,
                          lapack_int liwork) {
    return LAPACKE_ssyevd_work(LAPACK_COL_MAJOR, jobz, 'L', n, a, n, w, work, lwork, iwork, liwork);
  }
  static lapack_int Syevr(char jobz, lapack_int n, float* a, lapack_int il, lapack_int iu, lapack_int* m, float* w,
                          float* z, lapack_int ldz, lapack_int* isuppz, float* work, lapack_int lwork,
                          lapack_int* iwork, lapack_int liwork) {
    return LAPACKE_ssyevr_work(LAPACK_COL_MAJOR, jobz, 'I', 'L', n, a, n, 0.0f, 0.0f, il, iu, 0.0f, m, w, z, ldz,
                               isuppz, work, lwork, iwork, liwork);
  }
  static lapack_int Gesdd(char jobz, lapack_int m, lapack_int n, float* a, float* s, float* u, lapack_int ldu,
                          float* vt, lapack_int ldvt, float* work, lapack_int lwork, lapack_int* iwork) {
    return LAPACKE_sgesdd_work(LAPACK_COL_MAJOR, jobz, m, n, a, m, s, u, ldu, vt, ldvt, work, lwork, iwork);
  }
};

}  // namespace specdyn
