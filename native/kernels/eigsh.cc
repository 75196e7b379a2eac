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

// Whether single-vector Lanczos should hand its solve to a cheaper route (the small-Gram route
// of Eigsh) that costs `cost` operator products plus `perProduct` of one for each Lanczos step
// the route itself takes. At every restart, the slowest unconverged wanted residual's decline
// per product since the restart before (at the first: since the start, its residual taken as
// ‖A‖) predicts the products still to come; Lanczos hands off once they exceed 1.25 times the
// route's cost. (The prediction is linear in
// log residual, and Lanczos usually converges faster than that: the margin keeps it from
// handing off a solve about to finish.)
struct HandOff {
  double cost = 0, perProduct = 0;
  bool taken = false;
  int64_t matvecs = 0, restarts = 0;  // spent before the hand-off
  double lastLog = 0;
  int64_t lastMatvecs = 0;
  bool Wants(int64_t restart, int64_t mv, const std::vector<double>& rn, int64_t k, double bound, double anorm,
             double tol) {
    double worst = 0;
    for (int64_t j = 0; j < k; ++j)
      if (!(rn[j] <= bound)) worst = std::max(worst, anorm > 0 ? rn[j] / anorm : rn[j]);
    if (!(worst > 0 && std::isfinite(worst))) return false;
    const double lw = std::log(worst);
    bool want = false;
    if (mv > lastMatvecs) {
      const double rate = (lw - lastLog) / double(mv - lastMatvecs);  // < 0 while converging
      const double left = rate < 0 ? std::log(tol / worst) / rate : INFINITY;
      const double route = cost + (std::isfinite(left) ? double(mv) + left : 0.0) * perProduct;
      want = left > 1.25 * route;
    }
    lastLog = lw;
    lastMatvecs = mv;
    if (want) {
      taken = true;
      matvecs = mv;
      restarts = restart + 1;
    }
    return want;
  }
};

// Thick-restart Lanczos with one vector (Wu & Simon; in exact arithmetic what ARPACK's
// implicitly restarted Lanczos computes). Each step is one operator product on a single
// vector, then classical Gram–Schmidt against the whole basis (two ?gemv), repeated when it
// removed more than 30 % of the vector (the DGKS test, "twice is enough"; a third such loss
// means the basis spans an invariant subspace). The projected
// matrix H = Vᵀ A V is kept dense from the Gram–Schmidt coefficients (an arrowhead after each
// restart, tridiagonal otherwise), and the products A V are stored, so the residuals tested are
// ‖A x − θ x‖ formed from vectors, not the |β s| estimate, and stay honest at round-off.
// With handOff, it may stop at a restart and return Ok with handOff->taken set and no outputs.
Status LanczosOne(SymOperator& op, const EigshOptions& o, const Control& ctl, int64_t m, double* values,
                  double* vectors, double* residuals, EigshStats* stats, HandOff* handOff = nullptr) {
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
    if (handOff && handOff->Wants(restart, matvecs, rn, k, bound, anorm, o.tol)) return Status::Ok();
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
// ----------------------------------------------------------------------- the small-Gram route
//
// A = B Bᵀ with B n x p, p < n (a Gram operator of its larger side): A's nonzero eigenvalues are
// those of G = Bᵀ B (p x p), and for G w = θ w, u = B w / √θ is A's unit eigenvector. G costs one
// ?syrk over B, BLAS-3, where each Lanczos product on A streams B twice at memory speed; once
// formed, a product with G reads p² numbers instead of 2np. So the route pays when Lanczos would
// need more products than the ?syrk is worth. The route then runs single-vector Lanczos on G at a
// tenth of tol, maps the k vectors back (one GEMM), and checks them on A itself: the values are
// A's Rayleigh quotients uᵀ A u and the residuals ‖A u − θ u‖ are formed from k products with A
// (one block product), so the answer meets eigsh's own test or is not returned. (G's rounding,
// ~√n·2^-52·‖A‖ per entry, is of the size of the products' own.)

// The ?syrk forming G, in operator products (two ?gemv over B): measured with OpenBLAS 0.3.21 on
// a 2-core AMD EPYC (docs/performance.md "The small-Gram route"), 18–21 products for p = 200 and
// 19–38 for p = 750–1000 at n = 3000 (B in cache; when it is not, the products slow down more than
// the ?syrk: 5–6 at n = 20 000, p = 200). The larger of 20 and p / 20 over-states it on purpose.
double SyrkProducts(int64_t p) { return std::max(20.0, 0.05 * double(p)); }

// G = Bᵀ B (p x p, column-major, both triangles) from the factor, in slabs of about 10⁹ flops
// between cancel checks.
Status FormGram(const GramFactor& f, const Control& ctl, double* g) {
  const int64_t p = f.Rank(), kdim = f.Order();
  const int64_t slab = std::max<int64_t>(256, int64_t(1e9 / double(std::max<int64_t>(p * p, 1))));
  for (int64_t k0 = 0; k0 < kdim; k0 += slab) {
    if (ctl.Cancelled()) return Status::Aborted();
    const int64_t kc = std::min(slab, kdim - k0);
    const double beta = k0 == 0 ? 0.0 : 1.0;
    // W row-major is Wᵀ column-major (cols x rows, leading dimension cols).
    if (f.outer)  // G = Wᵀ W: rows k0.. of W are columns of its column-major transpose
      cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, I(p), I(kc), 1.0, f.x + k0 * f.cols, I(f.cols), beta, g,
                  I(p));
    else  // G = W Wᵀ: columns k0.. of W
      cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, I(p), I(kc), 1.0, f.x + k0, I(f.cols), beta, g, I(p));
  }
  for (int64_t j = 0; j < p; ++j)
    for (int64_t i = 0; i < j; ++i) g[j + i * p] = g[i + j * p];
  return Status::Ok();
}

// The inner solve's options: single-vector Lanczos on G at a tenth of tol (the vectors' error
// grows by up to √(θ₁/θ) when mapped back; the check on A decides).
EigshOptions InnerOptions(const EigshOptions& o, int64_t p) {
  EigshOptions io = o;
  io.which = Which::Largest;  // G is positive semidefinite: largest = magnitude
  io.block = 1;
  io.basis = o.basis > 0 ? std::min(o.basis, p) : 0;
  io.preferBlocks = false;
  io.tol = std::max(0.1 * o.tol, 4 * o.roundoff);
  io.route = Route::Lanczos;
  return io;
}

// The route; Ok with the outputs written, Aborted, or a status saying it did not deliver (the
// caller then runs Lanczos on A). spent / spentRestarts: Lanczos products and restarts on A
// before a hand-off, counted in the statistics.
Status SmallGram(SymOperator& op, const GramFactor& f, const EigshOptions& o, const Control& ctl, double* values,
                 double* vectors, double* residuals, EigshStats* stats, int64_t spent, int64_t spentRestarts) {
  const int64_t n = f.Order(), p = f.Rank(), k = o.k;
  const size_t pp = static_cast<size_t>(p * p), nk = static_cast<size_t>(n * k);
  PooledArray<double> buf(std::max(pp + 2 * nk, kPoolMinBytes / sizeof(double)));
  double* const g = buf.get();
  double* const U = g + pp;
  double* const AU = U + nk;
  Status s = FormGram(f, ctl, g);
  if (!s.ok()) return s;
  MatView gv;
  gv.data = g;
  gv.rows = gv.cols = p;
  gv.name = "the Gram matrix";
  std::unique_ptr<SymOperator> gop = DenseOperator(gv, Precision::F64);
  Control quiet = ctl;
  quiet.reports = false;
  EigshOptions io = InnerOptions(o, p);
  std::vector<double> w(static_cast<size_t>(k * p)), wval(static_cast<size_t>(k)), wres(static_cast<size_t>(k));
  std::vector<double> theta(static_cast<size_t>(k)), rn(static_cast<size_t>(k)), r(static_cast<size_t>(n));
  int64_t gramMatvecs = 0, restarts = spentRestarts, checks = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    EigshStats is;
    s = Eigsh(*gop, io, quiet, wval.data(), w.data(), wres.data(), &is);
    gramMatvecs += is.matvecs;
    restarts += is.restarts + 1;
    if (!s.ok()) return s;  // aborted, or not converged on G (the caller then runs Lanczos on A)
    const double anormG = is.normEstimate;
    for (int64_t j = 0; j < k; ++j)
      if (!(wval[j] > o.tol * anormG)) return Status::Make(ErrKind::Internal, "a zero eigenvalue");  // u undefined
    // U = B W (n x k): W (k x p row-major) is column-major p x k.
    if (f.outer)
      cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, I(n), I(k), I(p), 1.0, f.x, I(f.cols), w.data(), I(p), 0.0,
                  U, I(n));
    else
      cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, I(n), I(k), I(p), 1.0, f.x, I(f.cols), w.data(), I(p), 0.0,
                  U, I(n));
    for (int64_t j = 0; j < k; ++j) cblas_dscal(I(n), 1.0 / Nrm2(U + j * n, n), U + j * n, 1);
    if (ctl.Cancelled()) return Status::Aborted();
    op.Apply(U, AU, k);
    checks += k;
    double anorm = anormG;
    for (int64_t j = 0; j < k; ++j) {
      theta[j] = cblas_ddot(I(n), U + j * n, 1, AU + j * n, 1);
      anorm = std::max(anorm, std::fabs(theta[j]));
    }
    int64_t conv = 0;
    for (int64_t j = 0; j < k; ++j) {
      const double* u = U + j * n;
      const double* au = AU + j * n;
      for (int64_t i = 0; i < n; ++i) r[i] = au[i] - theta[j] * u[i];
      rn[j] = Nrm2(r.data(), n);
      if (rn[j] <= o.tol * anorm) ++conv;
    }
    if (conv == k) {
      const std::vector<int64_t> idx = WantedOrder(theta, k, o.which);
      for (int64_t j = 0; j < k; ++j)
        PutPair(j, theta[idx[j]], U + idx[j] * n, rn[idx[j]], n, values, vectors, residuals);
      ctl.Report(spent + checks, 0, k);
      if (stats) {
        stats->restarts = restarts;
        stats->matvecs = spent + checks;
        stats->block = 1;
        stats->basis = is.basis;
        stats->normEstimate = anorm;
        stats->gram = true;
        stats->gramMatvecs = gramMatvecs;
      }
      return Status::Ok();
    }
    // Once more, as tight as the mapping back needs for the smallest θ found (if attainable).
    const double tighter = 0.5 * o.tol * std::sqrt(wval[k - 1] / anormG);
    if (tighter < 4 * o.roundoff || tighter >= io.tol) break;
    io.tol = tighter;
  }
  return Status::Make(ErrKind::NoConvergence, "the small-Gram route missed tol on A");
}
}  // namespace

bool GramRouteApplies(int64_t n, int64_t p, const EigshOptions& o) {
  return p < n && o.k < p && o.which != Which::Smallest && o.block <= 1;
}

double GramRouteBytes(int64_t n, int64_t p, const EigshOptions& o) {
  return 8.0 * (double(p) * double(p) + 2.0 * double(n) * double(o.k) + 2.0 * double(o.k) * double(p)) +
         EigshWorkBytes(p, InnerOptions(o, p));
}

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
  const GramFactor* f = o.route == Route::Lanczos ? nullptr : op.Factor();
  if (b == 1 && f && GramRouteApplies(n, f->Rank(), o)) {
    // The small-Gram route (above): at once when the ?syrk costs less than one basis of
    // products (or Route::Gram), else when Lanczos predicts it would need more than the route.
    int64_t spent = 0, spentRestarts = 0;
    const double cost = SyrkProducts(f->Rank());
    if (o.route == Route::Auto && cost > double(m)) {
      HandOff h;
      h.cost = cost;
      h.perProduct = double(f->Rank()) / (2.0 * double(n));
      Status s = LanczosOne(op, o, ctl, m, values, vectors, residuals, stats, &h);
      if (!h.taken) return s;
      spent = h.matvecs;
      spentRestarts = h.restarts;
    }
    Status s = SmallGram(op, *f, o, ctl, values, vectors, residuals, stats, spent, spentRestarts);
    if (s.ok() || s.kind == ErrKind::Aborted) return s;
    // The route did not deliver (G's solve did not converge, a zero eigenvalue among the k, or
    // the check on A failed twice): Lanczos on A, from the start.
    s = LanczosOne(op, o, ctl, m, values, vectors, residuals, stats);
    if (stats) stats->matvecs += spent;
    return s;
  }
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
