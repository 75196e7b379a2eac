#include "krylov.h"

#include <cblas.h>

#include <cmath>

#include "colmajor.h"

namespace specdyn {

double Nrm2(const double* x, int64_t n) { return cblas_dnrm2(I(n), x, 1); }

void ProjectOnce(const double* v, int64_t n, int64_t cols, double* x, double* c) {
  cblas_dgemv(CblasColMajor, CblasTrans, I(n), I(cols), 1.0, v, I(n), x, 1, 0.0, c, 1);
  cblas_dgemv(CblasColMajor, CblasNoTrans, I(n), I(cols), -1.0, v, I(n), c, 1, 1.0, x, 1);
}

void ProjectOut(const double* v, int64_t n, int64_t cols, double* x, std::vector<double>& c) {
  if (cols == 0) return;
  c.resize(static_cast<size_t>(cols));
  for (int pass = 0; pass < 2; ++pass) ProjectOnce(v, n, cols, x, c.data());
}

void OrthoAppend(double* V, int64_t n, int64_t cur, double* X, int64_t add, Rng64& rng, std::vector<double>& work) {
  std::vector<double> orig(static_cast<size_t>(add));
  for (int64_t j = 0; j < add; ++j) orig[j] = Nrm2(X + j * n, n);
  if (cur > 0) {
    work.resize(static_cast<size_t>(cur * add));
    for (int pass = 0; pass < 2; ++pass) {  // block classical Gram–Schmidt, twice (BLAS-3)
      cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, I(cur), I(add), I(n), 1.0, V, I(n), X, I(n), 0.0,
                  work.data(), I(cur));
      cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, I(n), I(add), I(cur), -1.0, V, I(n), work.data(), I(cur),
                  1.0, X, I(n));
    }
  }
  std::vector<double> c;
  for (int64_t j = 0; j < add; ++j) {
    double* x = X + j * n;
    double* dst = V + (cur + j) * n;
    ProjectOut(V + cur * n, n, j, x, c);  // against the columns already appended
    double nrm = Nrm2(x, n);
    if (!(nrm > 1e-10 * orig[j]) || !(nrm > 0) || !std::isfinite(nrm)) {
      for (int attempt = 0; attempt < 8; ++attempt) {
        for (int64_t i = 0; i < n; ++i) x[i] = rng.Normal();
        ProjectOut(V, n, cur + j, x, c);
        nrm = Nrm2(x, n);
        if (nrm > 1e-8) break;
      }
    } else {
      ProjectOut(V, n, cur + j, x, c);  // one more sweep: the block pass left O(eps) overlap
      nrm = Nrm2(x, n);
    }
    if (nrm > 0 && nrm < 0x1p-960) {  // 1 / nrm would overflow: divide instead
      for (int64_t i = 0; i < n; ++i) dst[i] = x[i] / nrm;
      continue;
    }
    const double inv = nrm > 0 ? 1.0 / nrm : 0.0;
    for (int64_t i = 0; i < n; ++i) dst[i] = x[i] * inv;
  }
}

void FixSign(double* v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (std::fabs(v[i]) > std::fabs(v[best])) best = i;
  if (v[best] < 0)
    for (int64_t i = 0; i < n; ++i) v[i] = -v[i];
}

}  // namespace specdyn
