// Thick-restart block Lanczos (eigsh).
//
// Why block Lanczos and not LOBPCG: without a preconditioner (we have none for a distance or
// Gram matrix) LOBPCG converges like a 3-block Krylov method, while a block Krylov basis of
// m columns carries the whole polynomial filter of degree m/b. Each expansion step is one
// operator product on an n x b block (BLAS-3, so the n² matrix is streamed once per b vectors)
// plus two passes of classical Gram–Schmidt against the basis done as GEMMs. The Rayleigh
// quotient H = Vᵀ A V is formed explicitly from the stored products A V, so restarts (keep the
// wanted Ritz vectors, continue with their residual block, as Krylov–Schur does) need no
// recurrence bookkeeping and stay exact when blocks deflate.
#include "eigsh.h"

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "colmajor.h"
#include "fault.h"
#include "krylov.h"
#include "rng.h"

namespace specdyn {

namespace {
// Restarts without progress after which a solve is declared stalled (see Eigsh).
constexpr int64_t kStallRestarts = 40;
}  // namespace

void EigshSizes(int64_t n, const EigshOptions& o, int64_t* block, int64_t* basis) {
  // Defaults chosen by operator products to convergence (bench/iterative.bench.mjs): a small
  // block and a basis of about 2k + 6b give each restart a Krylov polynomial of useful degree;
  // the former b = clamp(k, 4, 32), m = max(k + 4b, 3k) restarted so often that a Wishart edge
  // (X Xᵀ, 3000 x 200) took 2-3x the products (384 vs 96 for k = 1, 630 vs 198 for k = 10).
  int64_t b = o.block > 0 ? o.block : std::max<int64_t>(2, std::min<int64_t>((o.k + 3) / 4, 16));
  b = std::min(b, n);
  int64_t m = o.basis > 0 ? o.basis : std::max<int64_t>(2 * o.k + 6 * b, 32);
  m = std::max(m, o.k + 2 * b);
  *block = b;
  *basis = std::min(m, n);
}

double EigshWorkBytes(int64_t n, const EigshOptions& o) {
  int64_t b, m;
  EigshSizes(n, o, &b, &m);
  const double dn = double(n), dm = double(m);
  // V, AV, Ritz vectors and their products, residual block, H and its eigenvectors
  return 8.0 * (2.0 * dn * dm + 3.0 * dn * dm + dn * double(b) + 3.0 * dm * dm + dm * double(b));
}

Status Eigsh(SymOperator& op, const EigshOptions& o, const Control& ctl, double* values, double* vectors,
             double* residuals, EigshStats* stats) {
  FaultPoint(FaultSite::Kernel);
  const int64_t n = op.Size(), k = o.k;
  int64_t b, m;
  EigshSizes(n, o, &b, &m);
  op.SetControl(&ctl);
  const int64_t maxRestarts = o.maxRestarts > 0 ? o.maxRestarts : 1000;
  std::vector<double> V(static_cast<size_t>(n * m)), AV(static_cast<size_t>(n * m)), H(static_cast<size_t>(m * m), 0.0);
  std::vector<double> X(static_cast<size_t>(n * b)), work, S(static_cast<size_t>(m * m)), theta(static_cast<size_t>(m));
  std::vector<double> Xr, AXr, rn;
  Rng64 rng(o.seed, 1);
  for (auto& v : X) v = rng.Normal();
  int64_t cur = 0, nx = b, matvecs = 0, bestConv = 0, lastProgress = 0;
  double bestFront = INFINITY;
  double anorm = 0;
  if (stats) {
    stats->block = b;
    stats->basis = m;
  }
  for (int64_t restart = 0;; ++restart) {
    // Expansion: block Lanczos steps until the basis is full.
    for (;;) {
      if (ctl.Cancelled()) return Status::Aborted();
      const int64_t add = std::min(nx, std::min(m, n) - cur);
      OrthoAppend(V.data(), n, cur, X.data(), add, rng, work);
      op.Apply(V.data() + cur * n, AV.data() + cur * n, add);
      if (ctl.Cancelled()) return Status::Aborted();
      matvecs += add;
      const int64_t tot = cur + add;
      // New columns of H = Vᵀ A V; mirror them into the rows so H stays exactly symmetric.
      cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, I(tot), I(add), I(n), 1.0, V.data(), I(n),
                  AV.data() + cur * n, I(n), 0.0, H.data() + cur * m, I(m));
      const auto h = ColMajorView(H.data(), m);
      for (int64_t j = cur; j < tot; ++j)
        for (int64_t i = 0; i < j; ++i) h(i, j) = h(j, i) = i >= cur ? 0.5 * (h(i, j) + h(j, i)) : h(i, j);
      cur = tot;
      ctl.Report(matvecs, 0, 0);
      // A basis that can hold the whole space (m = n, e.g. when k + 2b > n) is filled to n,
      // the last block partially; otherwise stop before a block no longer fits (m ≥ k + 2b
      // then, so a restart keeps more than k vectors).
      if (cur >= n || (m < n && cur + b > m)) break;
      std::copy(AV.begin() + (cur - add) * n, AV.begin() + cur * n, X.begin());
      nx = add;
    }
    // Rayleigh–Ritz on the basis.
    const auto h = ColMajorView(H.data(), m), sv = ColMajorView(S.data(), cur);
    for (int64_t j = 0; j < cur; ++j)
      for (int64_t i = 0; i < cur; ++i) sv(i, j) = h(i, j);
    lapack_int info =
        LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', lapack_int(cur), S.data(), lapack_int(cur), theta.data());
    if (info != 0) return Status::Lapack("dsyevd", info);
    std::vector<int64_t> idx(static_cast<size_t>(cur));
    std::iota(idx.begin(), idx.end(), 0);
    auto key = [&](int64_t i) {
      const double t = theta[i];
      return o.which == Which::Largest ? -t : o.which == Which::Smallest ? t : -std::fabs(t);
    };
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t c) { return key(a) < key(c); });
    for (int64_t i = 0; i < cur; ++i) anorm = std::max(anorm, std::fabs(theta[i]));
    const bool full = cur >= n;
    // Keep about half of the unwanted part too (as Krylov–Schur does): it holds the Ritz
    // vectors next to the wanted ones and so resolves clusters across restarts.
    const int64_t keep = full ? k : std::min(cur - b, std::max(k + (b + 1) / 2, (cur + k) / 2));
    std::vector<double> Y(static_cast<size_t>(cur * keep));
    for (int64_t j = 0; j < keep; ++j) std::copy(sv.col(idx[j]), sv.col(idx[j] + 1), Y.data() + j * cur);
    Xr.resize(static_cast<size_t>(n * keep));
    AXr.resize(static_cast<size_t>(n * keep));
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, I(n), I(keep), I(cur), 1.0, V.data(), I(n), Y.data(), I(cur),
                0.0, Xr.data(), I(n));
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, I(n), I(keep), I(cur), 1.0, AV.data(), I(n), Y.data(),
                I(cur), 0.0, AXr.data(), I(n));
    rn.assign(static_cast<size_t>(keep), 0.0);
    std::vector<double> R(static_cast<size_t>(n * keep));
    const auto r = ColMajorView(R.data(), n), xr = ColMajorView(Xr.data(), n), axr = ColMajorView(AXr.data(), n);
    for (int64_t j = 0; j < keep; ++j) {
      const double t = theta[idx[j]];
      for (int64_t i = 0; i < n; ++i) r(i, j) = axr(i, j) - t * xr(i, j);
      rn[j] = Nrm2(r.col(j), n);
    }
    int64_t conv = 0;
    for (int64_t j = 0; j < k; ++j)
      if (rn[j] <= o.tol * anorm) ++conv;
    ctl.Report(matvecs, 0, conv);
    if (stats) {
      stats->restarts = restart;
      stats->matvecs = matvecs;
      stats->normEstimate = anorm;
    }
    if (conv == k || full) {
      for (int64_t j = 0; j < k; ++j) {
        values[j] = theta[idx[j]];
        if (residuals) residuals[j] = rn[j];
        if (vectors) {
          std::copy(xr.col(j), xr.col(j + 1), vectors + j * n);
          FixSign(vectors + j * n, n);
        }
      }
      return Status::Ok();
    }
    // Stall: the closest unconverged pair's residual is down at round-off (~sqrt(n)·eps·‖A‖,
    // so tol is below what the products attain), and for kStallRestarts restarts neither a new
    // pair converged nor that residual halved: more restarts would only spend time.
    double front = INFINITY;
    for (int64_t j = 0; j < k; ++j)
      if (!(rn[j] <= o.tol * anorm)) front = std::min(front, anorm > 0 ? rn[j] / anorm : rn[j]);
    if (conv > bestConv || front < 0.5 * bestFront) {
      bestConv = std::max(bestConv, conv);
      bestFront = std::min(bestFront, front);
      lastProgress = restart;
    }
    const bool stalled =
        restart - lastProgress >= kStallRestarts && bestFront <= 64.0 * std::sqrt(double(n)) * o.roundoff;
    if (restart + 1 >= maxRestarts || stalled) {
      // The pairs that did converge, most extreme first, in the first `conv` slots.
      int64_t c = 0;
      for (int64_t j = 0; j < k; ++j) {
        if (!(rn[j] <= o.tol * anorm)) continue;
        values[c] = theta[idx[j]];
        if (residuals) residuals[c] = rn[j];
        if (vectors) {
          std::copy(xr.col(j), xr.col(j + 1), vectors + c * n);
          FixSign(vectors + c * n, n);
        }
        ++c;
      }
      const std::string got = std::to_string(conv) + " of " + std::to_string(k) + " pairs converged";
      Status s = Status::Make(ErrKind::NoConvergence,
                              stalled ? "Expected eigsh to converge to tol " + FormatNumber(o.tol) + " but received " +
                                            got + ", the residuals stalled at " + FormatNumber(bestFront) +
                                            " * |A| for " + std::to_string(kStallRestarts) +
                                            " restarts (tol is below the accuracy the products attain: raise tol)"
                                      : "Expected eigsh to converge within " + std::to_string(maxRestarts) +
                                            " restarts but received " + got +
                                            " (raise maxRestarts or tol, or enlarge the basis)");
      s.routine = "eigsh";
      s.info = int(conv);
      return s;
    }
    if (ctl.Cancelled()) return Status::Aborted();
    // Thick restart: keep the wanted Ritz pairs, continue from their residuals (the next
    // Krylov block), unconverged wanted pairs first.
    std::copy(Xr.begin(), Xr.end(), V.begin());
    std::copy(AXr.begin(), AXr.end(), AV.begin());
    std::fill(H.begin(), H.end(), 0.0);
    for (int64_t j = 0; j < keep; ++j) h(j, j) = theta[idx[j]];
    cur = keep;
    std::vector<int64_t> order;
    for (int64_t j = 0; j < k; ++j)
      if (rn[j] > o.tol * anorm) order.push_back(j);
    for (int64_t j = k; j < keep; ++j) order.push_back(j);
    for (int64_t j = 0; j < k; ++j)
      if (rn[j] <= o.tol * anorm) order.push_back(j);
    nx = std::min<int64_t>(b, int64_t(order.size()));
    for (int64_t j = 0; j < nx; ++j) std::copy(r.col(order[j]), r.col(order[j] + 1), X.data() + j * n);
  }
}

}  // namespace specdyn
