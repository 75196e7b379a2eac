// Thick-restart Lanczos (eigsh): single-vector (LanczosOne, the default for implicit operators)
// and block (Eigsh below, the default for dense matrices); EigshSizes says which and why.
//
// Why Lanczos and not LOBPCG: without a preconditioner (we have none for a distance or
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
#include "memory.h"
#include "rng.h"

namespace specdyn {

namespace {
// Restarts without progress after which a solve is declared stalled (see Eigsh).
constexpr int64_t kStallRestarts = 40;

// Sort key of a Ritz value: the wanted end first.
double WantKey(Which w, double t) { return w == Which::Largest ? -t : w == Which::Smallest ? t : -std::fabs(t); }

// Ritz value order, most wanted first (stable: ties keep dsyevd's ascending order).
std::vector<int64_t> WantedOrder(const std::vector<double>& theta, int64_t cur, Which w) {
  std::vector<int64_t> idx(static_cast<size_t>(cur));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int64_t a, int64_t c) { return WantKey(w, theta[a]) < WantKey(w, theta[c]); });
  return idx;
}

// Pair j of the outputs: value, residual, and the unit vector with its deterministic sign.
void PutPair(int64_t j, double value, const double* x, double res, int64_t n, double* values, double* vectors,
             double* residuals) {
  values[j] = value;
  if (residuals) residuals[j] = res;
  if (vectors) {
    std::copy(x, x + n, vectors + j * n);
    FixSign(vectors + j * n, n);
  }
}

// Progress of the convergence front across restarts, for the stall test: the closest
// unconverged pair's residual is down at round-off (~sqrt(n)·eps·‖A‖, so tol is below what the
// products attain), and for kStallRestarts restarts neither a new pair converged nor that
// residual halved: more restarts would only spend time.
struct StallWatch {
  int64_t bestConv = 0, lastProgress = 0;
  double bestFront = INFINITY;
  // rn: residuals of the k wanted pairs; returns whether the solve has stalled.
  bool Update(int64_t restart, const double* rn, int64_t k, int64_t conv, double tol, double anorm, int64_t n,
              double roundoff) {
    double front = INFINITY;
    for (int64_t j = 0; j < k; ++j)
      if (!(rn[j] <= tol * anorm)) front = std::min(front, anorm > 0 ? rn[j] / anorm : rn[j]);
    if (conv > bestConv || front < 0.5 * bestFront) {
      bestConv = std::max(bestConv, conv);
      bestFront = std::min(bestFront, front);
      lastProgress = restart;
    }
    return restart - lastProgress >= kStallRestarts && bestFront <= 64.0 * std::sqrt(double(n)) * roundoff;
  }
};

// The NoConvergence status (info = converged pairs) for running out of restarts or a stall.
Status NotConverged(const EigshOptions& o, int64_t conv, bool stalled, double bestFront, int64_t maxRestarts) {
  const std::string got = std::to_string(conv) + " of " + std::to_string(o.k) + " pairs converged";
  Status s =
      Status::Make(ErrKind::NoConvergence,
                   stalled ? "Expected eigsh to converge to tol " + FormatNumber(o.tol) + " but received " + got +
                                 ", the residuals stalled at " + FormatNumber(bestFront) + " * |A| for " +
                                 std::to_string(kStallRestarts) +
                                 " restarts (tol is below the accuracy the products attain: raise tol)"
                           : "Expected eigsh to converge within " + std::to_string(maxRestarts) +
                                 " restarts but received " + got + " (raise maxRestarts or tol, or enlarge the basis)");
  s.routine = "eigsh";
  s.info = int(conv);
  return s;
}

// Writes the wanted pairs (columns of x, residuals rn) that converged, most extreme first, to
// the first slots of the outputs; returns how many.
int64_t PutConverged(const std::vector<int64_t>& idx, const std::vector<double>& theta, const double* x,
                     const std::vector<double>& rn, int64_t k, int64_t n, double bound, double* values, double* vectors,
                     double* residuals) {
  int64_t c = 0;
  for (int64_t j = 0; j < k; ++j)
    if (rn[j] <= bound) PutPair(c++, theta[idx[j]], x + j * n, rn[j], n, values, vectors, residuals);
  return c;
}

// The verdict after a Rayleigh–Ritz step of either path: records the statistics and returns
// true with *out set when the solve ends (every wanted pair converged or the basis spanned the
// whole space: Ok; out of restarts or stalled: NoConvergence with the converged pairs), false
// to restart. x holds the k wanted Ritz vectors (columns of length n), rn their residuals.
struct Verdict {
  const EigshOptions& o;
  int64_t n, maxRestarts;
  StallWatch watch;
  bool Ends(int64_t restart, int64_t matvecs, double anorm, int64_t conv, bool full, const std::vector<int64_t>& idx,
            const std::vector<double>& theta, const double* x, const std::vector<double>& rn, const Control& ctl,
            double* values, double* vectors, double* residuals, EigshStats* stats, Status* out) {
    const int64_t k = o.k;
    ctl.Report(matvecs, 0, conv);
    if (stats) {
      stats->restarts = restart;
      stats->matvecs = matvecs;
      stats->normEstimate = anorm;
    }
    if (conv == k || full) {
      for (int64_t j = 0; j < k; ++j) PutPair(j, theta[idx[j]], x + j * n, rn[j], n, values, vectors, residuals);
      *out = Status::Ok();
      return true;
    }
    const bool stalled = watch.Update(restart, rn.data(), k, conv, o.tol, anorm, n, o.roundoff);
    if (restart + 1 >= maxRestarts || stalled) {
      PutConverged(idx, theta, x, rn, k, n, o.tol * anorm, values, vectors, residuals);
      *out = NotConverged(o, conv, stalled, watch.bestFront, maxRestarts);
      return true;
    }
    return false;
  }
};

// Whether ARPACK's residual estimates |β s_{cols,i}| of the k wanted Ritz pairs of the leading
// cols x cols block of H (leading dimension ld) all pass tol · max(anorm, max |θ|). S and theta
// are scratch of at least cols² and cols. (?syevd with all vectors: on these small matrices
// it is faster than ?syevr asked for the k wanted ones only, 1.1 against 2.5 ms at cols = 90.)
bool EstimatesPass(const double* H, int64_t ld, int64_t cols, double beta, const EigshOptions& o, double anorm,
                   std::vector<double>& S, std::vector<double>& theta) {
  for (int64_t j = 0; j < cols; ++j) std::copy(H + j * ld, H + j * ld + cols, S.data() + j * cols);
  if (LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', lapack_int(cols), S.data(), lapack_int(cols), theta.data()) != 0)
    return false;
  for (int64_t i = 0; i < cols; ++i) anorm = std::max(anorm, std::fabs(theta[i]));
  const std::vector<int64_t> idx = WantedOrder(theta, cols, o.which);
  for (int64_t j = 0; j < o.k; ++j)
    if (!(std::fabs(beta * S[idx[j] * cols + cols - 1]) <= o.tol * anorm)) return false;
  return true;
}

// Thick-restart Lanczos with one vector (Wu & Simon; in exact arithmetic what ARPACK's
// implicitly restarted Lanczos computes). Each step is one operator product on a single
// vector, then classical Gram–Schmidt against the whole basis (two ?gemv), repeated when it
// removed more than 30 % of the vector (the DGKS test, "twice is enough"; a third such loss
// means the basis spans an invariant subspace). The projected
// matrix H = Vᵀ A V is kept dense from the Gram–Schmidt coefficients (an arrowhead after each
// restart, tridiagonal otherwise), and the products A V are stored, so the residuals tested are
// ‖A x − θ x‖ formed from vectors, not the |β s| estimate, and stay honest at round-off.
Status LanczosOne(SymOperator& op, const EigshOptions& o, const Control& ctl, int64_t m, double* values,
                  double* vectors, double* residuals, EigshStats* stats) {
  const int64_t n = op.Size(), k = o.k;
  const int64_t maxRestarts = o.maxRestarts > 0 ? o.maxRestarts : 1000;
  // V (n x (m + 1)), W = A V, and the kept Ritz vectors and their products (n x m each) share one
  // block of the huge-page pool (memory.h), at least one 2 MiB page so that it is pooled and
  // reused: fresh 4 KiB pages fault at ~12 µs each on a VM, which for N = 3000, k = 1 cost more
  // than the solve's own work.
  const size_t nm = static_cast<size_t>(n * m);
  PooledArray<double> buf(std::max(4 * nm + static_cast<size_t>(n), kPoolMinBytes / sizeof(double)));
  double* const V = buf.get();
  double* const W = V + nm + n;
  double* const Xr = W + nm;
  double* const AXr = Xr + nm;
  std::vector<double> H(static_cast<size_t>(m * m), 0.0), S(static_cast<size_t>(m * m)), theta(static_cast<size_t>(m));
  std::vector<double> h(static_cast<size_t>(m + 1)), c(static_cast<size_t>(m + 1)), Y, rn, r(static_cast<size_t>(n));
  Rng64 rng(o.seed, 1);
  std::vector<double> cr;  // ProjectOut's scratch (it resizes it), apart from c
  auto randomUnit = [&](double* x, int64_t against) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      for (int64_t i = 0; i < n; ++i) x[i] = rng.Normal();
      ProjectOut(V, n, against, x, cr);
      const double nrm = Nrm2(x, n);
      if (nrm > 1e-8) {
        cblas_dscal(I(n), 1.0 / nrm, x, 1);
        return;
      }
    }
  };
  randomUnit(V, 0);
  int64_t cur = 0, matvecs = 0;
  double anorm = 0;
  Verdict verdict{o, n, maxRestarts, {}};
  if (stats) {
    stats->block = 1;
    stats->basis = m;
  }
  const auto hv = ColMajorView(H.data(), m);
  for (int64_t restart = 0;; ++restart) {
    // The early check's eigensolve costs ~cols³ against ~4·n·cols per step for the Gram–Schmidt
    // alone: check at most every cols/8 steps, and so that the checks cost below ~1/8 of the steps.
    const auto interval = [n](int64_t cols) { return std::max<int64_t>({1, cols / 8, (8 * cols * cols + n - 1) / n}); };
    int64_t nextCheck = cur + interval(cur + 1);
    // Lanczos steps until the basis holds m vectors (and the continuation vector v_m).
    for (int64_t j = cur; j < m; ++j) {
      if (ctl.Cancelled()) return Status::Aborted();
      double* vj = V + j * n;
      double* wj = W + j * n;
      double* f = V + (j + 1) * n;
      op.Apply(vj, wj, 1);
      ++matvecs;
      if (ctl.Cancelled()) return Status::Aborted();
      const int64_t cols = j + 1;
      std::copy(wj, wj + n, f);
      const double wnorm = Nrm2(f, n);
      ProjectOnce(V, n, cols, f, h.data());
      double beta = Nrm2(f, n), before = wnorm;
      bool invariant = !(beta > 0);
      for (int pass = 0; beta < 0.717 * before && !invariant; ++pass) {
        if (pass == 2) {  // still cancelling: f is rounding noise, the basis spans an invariant subspace
          invariant = true;
          break;
        }
        ProjectOnce(V, n, cols, f, c.data());
        for (int64_t i = 0; i < cols; ++i) h[i] += c[i];
        before = beta;
        beta = Nrm2(f, n);
        invariant = !(beta > 0);
      }
      // Column j of H (and its mirror: H stays exactly symmetric).
      for (int64_t i = 0; i < cols; ++i) hv(i, j) = hv(j, i) = h[i];
      cur = cols;
      if (cols >= n) break;  // the basis is the whole space
      if (invariant)
        randomUnit(f, cols);  // continue in a fresh direction; its coupling to V is zero
      else
        cblas_dscal(I(n), 1.0 / beta, f, 1);
      // Every few steps, ARPACK's convergence estimates |β s_j| of the wanted Ritz pairs
      // on the basis so far: once they all pass, stop expanding and test the true residuals.
      if (cols > k && cols < m && cols >= nextCheck) {
        nextCheck = cols + interval(cols);
        if (EstimatesPass(H.data(), m, cols, invariant ? 0.0 : beta, o, anorm, S, theta)) break;
      }
    }
    ctl.Report(matvecs, 0, 0);
    // Rayleigh–Ritz on the basis.
    const auto sv = ColMajorView(S.data(), cur);
    for (int64_t j = 0; j < cur; ++j)
      for (int64_t i = 0; i < cur; ++i) sv(i, j) = hv(i, j);
    const lapack_int info =
        LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', lapack_int(cur), S.data(), lapack_int(cur), theta.data());
    if (info != 0) return Status::Lapack("dsyevd", info);
    const std::vector<int64_t> idx = WantedOrder(theta, cur, o.which);
    for (int64_t i = 0; i < cur; ++i) anorm = std::max(anorm, std::fabs(theta[i]));
    // Converged wanted pairs stay (locked in the basis); so do the Ritz vectors next to the
    // wanted ones, about half of the rest, which carry the cluster beyond the k-th value.
    const bool full = cur >= n;
    const int64_t keep = full ? k : std::min(cur - 1, k + std::max<int64_t>((cur - k) / 2, 1));
    Y.resize(static_cast<size_t>(cur * keep));
    for (int64_t j = 0; j < keep; ++j) std::copy(sv.col(idx[j]), sv.col(idx[j] + 1), Y.data() + j * cur);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, I(n), I(keep), I(cur), 1.0, V, I(n), Y.data(), I(cur), 0.0,
                Xr, I(n));
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, I(n), I(keep), I(cur), 1.0, W, I(n), Y.data(), I(cur), 0.0,
                AXr, I(n));
    rn.assign(static_cast<size_t>(k), 0.0);
    int64_t conv = 0;
    const double bound = o.tol * anorm;
    for (int64_t j = 0; j < k; ++j) {
      const double t = theta[idx[j]];
      const double* x = Xr + j * n;
      const double* ax = AXr + j * n;
      for (int64_t i = 0; i < n; ++i) r[i] = ax[i] - t * x[i];
      rn[j] = Nrm2(r.data(), n);
      if (rn[j] <= bound) ++conv;
    }
    Status done;
    if (verdict.Ends(restart, matvecs, anorm, conv, full, idx, theta, Xr, rn, ctl, values, vectors, residuals, stats,
                     &done))
      return done;
    if (ctl.Cancelled()) return Status::Aborted();
    // Thick restart: the kept Ritz vectors (H = diag(θ)) and the continuation vector v_m, whose
    // products with them are the arrowhead the next step computes.
    std::copy(Xr, Xr + n * keep, V);
    std::copy(AXr, AXr + n * keep, W);
    std::copy(V + cur * n, V + (cur + 1) * n, V + keep * n);
    std::fill(H.begin(), H.end(), 0.0);
    for (int64_t j = 0; j < keep; ++j) hv(j, j) = theta[idx[j]];
    cur = keep;
  }
}
}  // namespace

void EigshSizes(int64_t n, const EigshOptions& o, int64_t* block, int64_t* basis) {
  // Defaults chosen by operator products and time to convergence (bench/iterative.bench.mjs,
  // docs/performance.md). Implicit operators (Gram, distance): single-vector Lanczos with
  // ARPACK's basis max(2k + 1, 20), fewer products than any block on every spectrum measured,
  // and a BLAS-2 product costs little more per vector than a blocked one. Dense matrices:
  // a block b = clamp(⌈k/4⌉, 2, 16) with a basis of about 2k + 6b, since a block product
  // streams the n² matrix once per b vectors (k = 20, N = 6000: 3.5x faster than b = 1
  // despite 1.7x the products), and a block finds exact multiplets of size ≤ b by construction.
  int64_t b = o.block > 0 ? o.block : o.preferBlocks ? std::max<int64_t>(2, std::min<int64_t>((o.k + 3) / 4, 16)) : 1;
  b = std::min(b, n);
  int64_t m = o.basis > 0 ? o.basis
              : b == 1    ? std::max<int64_t>(2 * o.k + 1, 20)
                          : std::max<int64_t>(2 * o.k + 6 * b, 32);
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
  if (b == 1) return LanczosOne(op, o, ctl, m, values, vectors, residuals, stats);
  const int64_t maxRestarts = o.maxRestarts > 0 ? o.maxRestarts : 1000;
  std::vector<double> V(static_cast<size_t>(n * m)), AV(static_cast<size_t>(n * m)), H(static_cast<size_t>(m * m), 0.0);
  std::vector<double> X(static_cast<size_t>(n * b)), work, S(static_cast<size_t>(m * m)), theta(static_cast<size_t>(m));
  std::vector<double> Xr, AXr, rn;
  Rng64 rng(o.seed, 1);
  for (auto& v : X) v = rng.Normal();
  int64_t cur = 0, nx = b, matvecs = 0;
  double anorm = 0;
  Verdict verdict{o, n, maxRestarts, {}};
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
    const std::vector<int64_t> idx = WantedOrder(theta, cur, o.which);
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
    Status done;
    if (verdict.Ends(restart, matvecs, anorm, conv, full, idx, theta, Xr.data(), rn, ctl, values, vectors, residuals,
                     stats, &done))
      return done;
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
