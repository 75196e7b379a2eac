// Stochastic Lanczos quadrature: Rademacher probes run Lanczos together (one block product per
// step, full reorthogonalisation per probe); each tridiagonal is a Gauss quadrature of the
// spectral measure seen from its probe, binned through its interpolated CDF.
#include "slq.h"

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "colmajor.h"
#include "fault.h"
#include "krylov.h"
#include "rng.h"

namespace specdyn {

double SlqWorkBytes(int64_t n, const SlqOptions& o) {
  const double p = double(o.probes), s = double(std::min(o.steps, n)), dn = double(n);
  return 8.0 * (dn * p * s + 2.0 * dn * p + 3.0 * p * s + s * s) + 8.0 * double(o.bins + 2) * (p + 3);
}

Status SpectralDensity(SymOperator& op, const SlqOptions& o, const Control& ctl, SlqResult* out) {
  FaultPoint(FaultSite::Kernel);
  const int64_t n = op.Size(), P = o.probes, ms = std::min(o.steps, n);
  op.SetControl(&ctl);
  // Uninitialised on purpose: pages of the per-probe bases are touched step by step, so a
  // long run neither stalls up front nor delays a cancel.
  std::unique_ptr<double[]> basisOwner(new double[n * P * ms]);
  double* const basis = basisOwner.get();
  std::vector<double> Q(static_cast<size_t>(n * P)), W(static_cast<size_t>(n * P));
  std::vector<double> alpha(static_cast<size_t>(P * ms), 0.0), beta(static_cast<size_t>(P * ms), 0.0), c;
  std::vector<int64_t> len(static_cast<size_t>(P), ms);
  // alpha, beta: column p holds probe p's tridiagonal (ms entries); bases: column p of basisOf
  // is probe p's n x ms Lanczos basis.
  const auto al = ColMajorView(alpha.data(), ms), be = ColMajorView(beta.data(), ms);
  const auto basisOf = ColMajorView(basis, n * ms);
  Rng64 rng(o.seed, 2);
  const double inv = 1.0 / std::sqrt(double(n));
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < n; ++i) basisOf(i, p) = (rng.Next() >> 63) ? inv : -inv;  // Rademacher
  int64_t matvecs = 0;
  double seen = 0;  // the largest |alpha| or beta so far, over all probes
  for (int64_t j = 0; j < ms; ++j) {
    if (ctl.Cancelled()) return Status::Aborted();
    for (int64_t p = 0; p < P; ++p) {
      const double* q = basisOf.col(p) + j * n;
      if (j < len[p])
        std::copy(q, q + n, Q.begin() + p * n);
      else
        std::fill(Q.begin() + p * n, Q.begin() + (p + 1) * n, 0.0);
    }
    op.Apply(Q.data(), W.data(), P);
    if (ctl.Cancelled()) return Status::Aborted();
    matvecs += P;
    for (int64_t p = 0; p < P; ++p) {
      if (j >= len[p]) continue;
      double* vb = basisOf.col(p);
      double* w = W.data() + p * n;
      const double* q = vb + j * n;
      const double a = cblas_ddot(I(n), q, 1, w, 1);
      al(j, p) = a;
      cblas_daxpy(I(n), -a, q, 1, w, 1);
      if (j > 0) cblas_daxpy(I(n), -be(j - 1, p), vb + (j - 1) * n, 1, w, 1);
      ProjectOut(vb, n, j + 1, w, c);  // full reorthogonalisation: exact Gauss quadrature
      const double bt = Nrm2(w, n);
      be(j, p) = bt;
      seen = std::max(seen, std::max(std::fabs(a), bt));
      if (j + 1 < ms) {
        // Breakdown relative to the local tridiagonal entries and to the largest entry seen
        // over all probes (a probe orthogonal to the range has a = 0 and a round-off b).
        const double scale = std::max(std::fabs(a) + (j > 0 ? be(j - 1, p) : 0.0), seen);
        if (!(bt > 1e-12 * scale) || !std::isfinite(bt)) {
          len[p] = j + 1;  // invariant subspace: the quadrature is exact already
        } else if (bt < 0x1p-960) {
          // 1 / bt would overflow: divide instead.
          for (int64_t i = 0; i < n; ++i) vb[(j + 1) * n + i] = w[i] / bt;
        } else {
          const double ib = 1.0 / bt;
          for (int64_t i = 0; i < n; ++i) vb[(j + 1) * n + i] = w[i] * ib;
        }
      }
    }
    ctl.Report(j + 1, ms, 0);
  }
  // Gauss quadrature per probe from the first L steps: nodes = eigenvalues of T_L, weights =
  // first components squared. The full-length rule gives the estimate; the half-length rule
  // gives a bias estimate (see below).
  auto quadrature = [&](int64_t p, int64_t L, std::vector<double>* t, std::vector<double>* w) {
    t->assign(al.col(p), al.col(p) + L);
    std::vector<double> e(static_cast<size_t>(std::max<int64_t>(L, 1)), 0.0);
    for (int64_t j = 0; j + 1 < L; ++j) e[j] = be(j, p);
    std::vector<double> z(static_cast<size_t>(L * L));
    lapack_int info = LAPACKE_dstev(LAPACK_COL_MAJOR, 'V', lapack_int(L), t->data(), e.data(), z.data(), lapack_int(L));
    w->resize(static_cast<size_t>(L));
    for (int64_t j = 0; j < L; ++j) (*w)[j] = z[j * L] * z[j * L];
    return info;
  };
  std::vector<std::vector<double>> nodes(static_cast<size_t>(P)), weights(static_cast<size_t>(P));
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t p = 0; p < P; ++p) {
    lapack_int info = quadrature(p, len[p], &nodes[p], &weights[p]);
    if (info != 0) return Status::Lapack("dstev", info);
    lo = std::min(lo, nodes[p].front());
    hi = std::max(hi, nodes[p].back());
  }
  out->lo = lo;
  out->hi = hi;
  out->matvecs = matvecs;
  if (!o.edges.empty()) {
    out->edges = o.edges;
  } else {
    // Extreme Ritz values lie just inside the spectrum; pad so the edges hold it all.
    // Bins at least 64 ulps wide, so that a range of a few ulps (a degenerate spectrum seen
    // through round-off) still has distinct edges.
    const double pad =
        hi > lo ? std::max(0.01 * (hi - lo), double(o.bins) * 64 * 0x1p-52 * std::max(std::fabs(lo), std::fabs(hi)))
                : std::max(1.0, std::fabs(hi)) * 1e-3;
    out->edges.resize(static_cast<size_t>(o.bins + 1));
    for (int64_t i = 0; i <= o.bins; ++i) out->edges[i] = (lo - pad) + (hi - lo + 2 * pad) * double(i) / double(o.bins);
  }
  const int64_t nb = int64_t(out->edges.size()) - 1;
  // Bin masses of one quadrature: its CDF interpolated linearly between the nodes, through the
  // middle of each node's jump, differenced at the edges.
  std::vector<double> F(static_cast<size_t>(nb + 1));
  auto binMasses = [&](const std::vector<double>& t, const std::vector<double>& w, double* mass) {
    const int64_t L = int64_t(t.size());
    std::vector<double> mid(static_cast<size_t>(L));
    double acc = 0;
    for (int64_t j = 0; j < L; ++j) {
      mid[j] = acc + 0.5 * w[j];
      acc += w[j];
    }
    for (int64_t i = 0; i <= nb; ++i) {
      const double x = out->edges[i];
      double f;
      if (x < t[0]) {
        f = 0;
      } else if (x >= t[L - 1]) {
        f = acc;
      } else {
        const int64_t j = int64_t(std::upper_bound(t.begin(), t.end(), x) - t.begin()) - 1;
        const double gap = t[j + 1] - t[j];
        const double frac = gap > 0 ? (x - t[j]) / gap : 0.0;
        f = mid[j] + frac * (mid[j + 1] - mid[j]);
      }
      F[i] = f;
    }
    for (int64_t i = 0; i < nb; ++i) mass[i] = F[i + 1] - F[i];
  };
  std::vector<double> sum(static_cast<size_t>(nb), 0.0), sum2(static_cast<size_t>(nb), 0.0),
      half(static_cast<size_t>(nb), 0.0), m(static_cast<size_t>(nb));
  std::vector<double> th, wh;
  for (int64_t p = 0; p < P; ++p) {
    binMasses(nodes[p], weights[p], m.data());
    for (int64_t i = 0; i < nb; ++i) {
      sum[i] += m[i];
      sum2[i] += m[i] * m[i];
    }
    const int64_t L = len[p], Lh = std::max<int64_t>(1, L / 2);
    if (L < ms) {  // the probe found an invariant subspace: its rule is exact
      for (int64_t i = 0; i < nb; ++i) half[i] += m[i];
      continue;
    }
    lapack_int info = quadrature(p, Lh, &th, &wh);
    if (info != 0) return Status::Lapack("dstev", info);
    binMasses(th, wh, m.data());
    for (int64_t i = 0; i < nb; ++i) half[i] += m[i];
  }
  out->mass.resize(static_cast<size_t>(nb));
  out->stderr_.resize(static_cast<size_t>(nb));
  out->bias.resize(static_cast<size_t>(nb));
  for (int64_t i = 0; i < nb; ++i) {
    const double mean = sum[i] / double(P);
    const double var = P > 1 ? std::max(0.0, (sum2[i] - double(P) * mean * mean) / double(P - 1)) : 0.0;
    out->mass[i] = mean;
    out->stderr_[i] = std::sqrt(var / double(P));
    // Quadrature bias: the interpolated rule converges about like 1/L², so the change from
    // L/2 to L steps over-estimates the remaining error by ~3 (Richardson); report it whole,
    // conservatively.
    out->bias[i] = std::fabs(mean - half[i] / double(P));
  }
  return Status::Ok();
}

}  // namespace specdyn
