// Gram matrices and pairwise distances through BLAS-3: one ?syrk of the whole matrix followed by
// one tiled pass (Gram, and Distance for small inputs), or, for Distance from a few hundred rows
// on, the Gram matrix in row panels (?syrk on the diagonal blocks, ?gemm off them) each turned
// into distances while it is still in cache (BlockedDistance).
//
// d²(i,j) = g_ii + g_jj − 2 g_ij loses relative accuracy when two rows nearly coincide (the
// three terms cancel). Such pairs are detected from the Gram entries and recomputed directly
// from the rows, so every entry keeps full relative accuracy at the cost of O(D) per close pair.
#include <cblas.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "blas_gate.h"
#include "checks.h"
#include "distance.h"
#include "fault.h"
#include "memory.h"
#include "scale.h"
#include "threads.h"

namespace specdyn {
namespace {

inline bool IsAngular(Metric m) { return m == Metric::Cosine || m == Metric::Angular || m == Metric::Correlation; }

// Edge of the square tiles of the O(N²) pass: a 64 x 64 tile of doubles is 32 KiB, so a tile
// of the Gram matrix, its distances and the transposed write stay in L1/L2.
constexpr int64_t kTile = 64;

// One cache-blocked pass over the upper triangle of a Gram matrix g (row-major, leading
// dimension n, float or double; g may be out itself) that writes both triangles of out. The
// tiles (I ≤ J) are split evenly across threads; each is computed into a local buffer by
// fill(i, jBegin, jEnd, g + i*n, t), which sets t[j − jBegin0] for j in [jBegin, jEnd) (t is the
// tile row, indexed from the tile's first column), then stored to out[i][j] and, transposed,
// to out[j][i]. The diagonal becomes exact zeros when zeroDiagonal, else fill covers it.
// Streaming (non-temporal) stores for the rows of out that no one reads back soon: they skip
// the read-for-ownership of each cache line, a third of the O(N²) pass's memory traffic when
// the result is larger than the caches. Values are stored exactly as plain stores would.
#if defined(__x86_64__) && defined(__GNUC__)
inline void StreamRow(double* dst, const double* src, int64_t m) {
  int64_t k = 0;
  if ((reinterpret_cast<uintptr_t>(dst) & 15) != 0 && m > 0) dst[k++] = src[0];
  for (; k + 2 <= m; k += 2) _mm_stream_pd(dst + k, _mm_loadu_pd(src + k));
  for (; k < m; ++k) dst[k] = src[k];
}
inline void StreamFence() { _mm_sfence(); }
#else
inline void StreamRow(double* dst, const double* src, int64_t m) {
  for (int64_t k = 0; k < m; ++k) dst[k] = src[k];
}
inline void StreamFence() {}
#endif

// Results of at least this many bytes are written with streaming stores: smaller ones fit the
// caches, where the caller reads them next.
constexpr double kStreamBytes = 16.0 * (1 << 20);

// dst[c][r] = src[r][c] for r < rows, c < cols, both with row stride kTile: 4 x 4 blocks in AVX
// registers when the CPU has it (a column gathered element by element from a 512-byte stride
// cost about a third of the O(N²) pass), else element by element.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx"))) void TransposeTileAvx(const double* src, int64_t rows, int64_t cols, double* dst) {
  constexpr int64_t B = kTile;
  const int64_t r4 = rows & ~int64_t(3), c4 = cols & ~int64_t(3);
  for (int64_t r = 0; r < r4; r += 4)
    for (int64_t c = 0; c < c4; c += 4) {
      const double* s0 = src + r * B + c;
      const __m256d a0 = _mm256_loadu_pd(s0), a1 = _mm256_loadu_pd(s0 + B), a2 = _mm256_loadu_pd(s0 + 2 * B),
                    a3 = _mm256_loadu_pd(s0 + 3 * B);
      const __m256d t0 = _mm256_unpacklo_pd(a0, a1), t1 = _mm256_unpackhi_pd(a0, a1);
      const __m256d t2 = _mm256_unpacklo_pd(a2, a3), t3 = _mm256_unpackhi_pd(a2, a3);
      double* d0 = dst + c * B + r;
      _mm256_storeu_pd(d0, _mm256_permute2f128_pd(t0, t2, 0x20));
      _mm256_storeu_pd(d0 + B, _mm256_permute2f128_pd(t1, t3, 0x20));
      _mm256_storeu_pd(d0 + 2 * B, _mm256_permute2f128_pd(t0, t2, 0x31));
      _mm256_storeu_pd(d0 + 3 * B, _mm256_permute2f128_pd(t1, t3, 0x31));
    }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = r < r4 ? c4 : 0; c < cols; ++c) dst[c * B + r] = src[r * B + c];
}
#endif
void TransposeTile(const double* src, int64_t rows, int64_t cols, double* dst) {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool avx = __builtin_cpu_supports("avx");
  if (avx) return TransposeTileAvx(src, rows, cols, dst);
#endif
  constexpr int64_t B = kTile;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * B + r] = src[r * B + c];
}

// One tile of the O(N²) pass: rows [i0, i1) x columns [j0, j1) of a tile of at most kTile x kTile
// (diag: the tile on the diagonal, i0 = j0, of which only j ≥ i is computed). gRow(i) points at
// row i of the Gram matrix, indexed by the global column j. The tile is computed into `tile`
// (kTile x kTile) by fill, stored to its place in out and, transposed into `tt` (kTile x kTile),
// to its mirror.
template <typename G, typename GRow, typename F>
inline void StoreTile(int64_t n, int64_t i0, int64_t i1, int64_t j0, int64_t j1, bool diag, bool zeroDiagonal,
                      GRow gRow, bool streamUpper, bool stream, double* tile, double* tt, double* out, F& fill) {
  constexpr int64_t B = kTile;
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t jb = diag ? (zeroDiagonal ? i + 1 : i) : j0;
    double* ti = tile + (i - i0) * B - j0;
    if (jb < j1) fill(i, jb, j1, static_cast<const G*>(gRow(i)), ti);
    double* oi = out + i * n;
    if (diag && zeroDiagonal) ti[i] = 0.0;
    const int64_t js = diag && zeroDiagonal ? i : jb;
    if (streamUpper)
      StreamRow(oi + js, ti + js, j1 - js);
    else
      for (int64_t j = js; j < j1; ++j) oi[j] = ti[j];
  }
  TransposeTile(tile, i1 - i0, j1 - j0, tt);
  for (int64_t j = j0; j < j1; ++j) {
    double* oj = out + j * n;
    const int64_t ie = diag ? std::min(i1, j) : i1;
    const double* col = tt + (j - j0) * B;
    if (stream)
      StreamRow(oj + i0, col, ie - i0);
    else
      for (int64_t i = i0; i < ie; ++i) oj[i] = col[i - i0];
  }
}

template <typename G, typename F>
void TiledSymmetric(const G* g, int64_t n, bool zeroDiagonal, double* out, F fill) {
  constexpr int64_t B = kTile;
  const int64_t nb = (n + B - 1) / B, tiles = nb * (nb + 1) / 2;
  const int t = (n < 256) ? 1 : std::max(1, std::min(BlasThreads(), HardwareThreads()));
  ParallelFor(tiles, t, [&](int64_t t0, int64_t t1) {
    std::vector<double> buf(static_cast<size_t>(B * B)), col(static_cast<size_t>(B * B));
    // Rows of out that hold the Gram matrix (g is out) were just read: plain stores there.
    const bool stream = 8.0 * double(n) * double(n) >= kStreamBytes;
    const bool streamUpper = stream && static_cast<const void*>(g) != static_cast<const void*>(out);
    const auto gRow = [g, n](int64_t i) { return g + i * n; };
    int64_t I = 0, rem = t0;
    while (rem >= nb - I) rem -= nb - I++;
    int64_t J = I + rem;
    for (int64_t k = t0; k < t1; ++k) {
      const int64_t i0 = I * B, i1 = std::min(n, i0 + B), j0 = J * B, j1 = std::min(n, j0 + B);
      StoreTile<G>(n, i0, i1, j0, j1, I == J, zeroDiagonal, gRow, streamUpper, stream, buf.data(), col.data(), out,
                   fill);
      if (++J == nb) J = ++I;
    }
    StreamFence();
  });
}

template <typename T>
double SqDiff(const T* a, const T* b, int64_t d) {
  double s = 0;
  for (int64_t k = 0; k < d; ++k) {
    double t = double(a[k]) - double(b[k]);
    s += t * t;
  }
  return s;
}

// t[k] = √t[k] for k < m (t ≥ 0). IEEE square roots are correctly rounded whatever the
// instruction, so packed square roots give the same bits; the compiler will not vectorise
// std::sqrt itself (errno handling), hence the explicit forms: AVX when the CPU has it, else SSE2.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx"))) void SqrtAvx(double* t, int64_t m) {
  int64_t k = 0;
  for (; k + 4 <= m; k += 4) _mm256_storeu_pd(t + k, _mm256_sqrt_pd(_mm256_loadu_pd(t + k)));
  for (; k < m; ++k) t[k] = std::sqrt(t[k]);
}
void SqrtRange(double* t, int64_t m) {
  static const bool avx = __builtin_cpu_supports("avx");
  if (avx) return SqrtAvx(t, m);
  int64_t k = 0;
  for (; k + 2 <= m; k += 2) _mm_storeu_pd(t + k, _mm_sqrt_pd(_mm_loadu_pd(t + k)));
  for (; k < m; ++k) t[k] = std::sqrt(t[k]);
}
#else
void SqrtRange(double* t, int64_t m) {
  for (int64_t k = 0; k < m; ++k) t[k] = std::sqrt(t[k]);
}
#endif

// t[k] = √max(t[k], 0) for k < m (t not NaN): the clamp and the roots in one sweep, the same bits
// as the clamp t > 0 ? t : +0 followed by SqrtRange (max returns its second operand, +0, for
// either signed zero).
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx"))) void ClampSqrtAvx(double* t, int64_t m) {
  const __m256d zero = _mm256_setzero_pd();
  int64_t k = 0;
  for (; k + 4 <= m; k += 4) _mm256_storeu_pd(t + k, _mm256_sqrt_pd(_mm256_max_pd(_mm256_loadu_pd(t + k), zero)));
  for (; k < m; ++k) t[k] = std::sqrt(t[k] > 0.0 ? t[k] : 0.0);
}
void ClampSqrtRange(double* t, int64_t m) {
  static const bool avx = __builtin_cpu_supports("avx");
  if (avx) return ClampSqrtAvx(t, m);
  for (int64_t k = 0; k < m; ++k) t[k] = t[k] > 0.0 ? t[k] : 0.0;
  SqrtRange(t, m);
}
#else
void ClampSqrtRange(double* t, int64_t m) {
  for (int64_t k = 0; k < m; ++k) t[k] = t[k] > 0.0 ? t[k] : 0.0;
  SqrtRange(t, m);
}
#endif

// arccos, branch-free so that a loop of it vectorises (std::acos is a libm call per entry,
// about half of an angular distance matrix's O(N²) pass). The classic reduction to arcsin on
// [0, 1/2]: |c| ≤ 1/2: acos c = π/2 − asin c; c > 1/2: 2 asin √((1 − c)/2); c < −1/2:
// π − 2 asin √((1 + c)/2), with asin y = y + y z R(z), z = y², and R the degree-12 polynomial
// interpolating (asin √z − √z)/z^{3/2} at the Chebyshev nodes of [0, 1/4] (coefficients
// computed for specdyn in 60-digit arithmetic; relative error of R 2e-16). π/2 and π are split
// in two doubles, and the rounding of √ is corrected as w + (t − w²)/(√t + w) with w the root
// cut to 21 bits (w² exact), so that the result stays within about one ulp of arccos (measured
// against glibc over 10^7 points: tests). No fused multiply-adds (none in either target), so the
// AVX and SSE2 forms give the same bits.
constexpr double kAsinR[13] = {0.16666666666666669, 0.07499999999998433,  0.04464285714635543,  0.030381944138531247,
                               0.02237217294214989, 0.017352392720869973, 0.013971212973552933, 0.011479177415184906,
                               0.01032281435018578, 0.005457506718640358, 0.01740087944269402,  -0.014851887071247204,
                               0.028757851367421566};
constexpr double kPio2Hi = 1.5707963267948966;     // π/2 rounded
constexpr double kPio2Lo = 6.123233995736766e-17;  // π/2 − kPio2Hi
constexpr double kPiHi = 3.141592653589793;        // π rounded
constexpr double kPiLo = 1.2246467991473532e-16;   // π − kPiHi

inline double AsinPoly(double z) {
  double r = kAsinR[12];
  for (int k = 11; k >= 0; --k) r = r * z + kAsinR[k];
  return r;
}

// acos of c ∈ [−1, 1].
inline double AcosOne(double c) {
  const double ax = std::fabs(c);
  const bool big = ax > 0.5;
  // |c| ≤ 1/2
  const double z0 = c * c;
  const double small = kPio2Hi - (c + (c * (z0 * AsinPoly(z0)) - kPio2Lo));
  // |c| > 1/2: t = (1 − |c|)/2 is exact (Sterbenz), asin √t = w + (corr + √t · t R(t))
  const double t = big ? (1.0 - ax) * 0.5 : 0.0;
  const double s = std::sqrt(t);
  uint64_t bits;
  std::memcpy(&bits, &s, sizeof bits);
  bits &= 0xffffffff00000000ULL;
  double w;
  std::memcpy(&w, &bits, sizeof w);
  const double den = s + w;
  const double corr = den > 0 ? (t - w * w) / den : 0.0;  // t = 0 (c = −1): no correction
  const double p = s * (t * AsinPoly(t));
  const double pos = 2.0 * (w + (corr + p));
  const double neg = kPiHi - 2.0 * (s + (p - 0.5 * kPiLo));  // 0.5 · kPiLo is exact
  return big ? (c > 0 ? pos : neg) : small;
}

#if defined(__x86_64__) && defined(__GNUC__)
// AcosOne on four lanes, operation for operation (the same bits; selects for the branches).
__attribute__((target("avx2"))) inline __m256d AsinPoly4(__m256d z) {
  __m256d r = _mm256_set1_pd(kAsinR[12]);
  for (int k = 11; k >= 0; --k) r = _mm256_add_pd(_mm256_mul_pd(r, z), _mm256_set1_pd(kAsinR[k]));
  return r;
}
__attribute__((target("avx2"))) void AcosRangeAvx2(double* t, int64_t m) {
  const __m256d half = _mm256_set1_pd(0.5), one = _mm256_set1_pd(1.0), two = _mm256_set1_pd(2.0),
                zero = _mm256_setzero_pd();
  const __m256d absMask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
  const __m256d hiMask = _mm256_castsi256_pd(_mm256_set1_epi64x(static_cast<long long>(0xffffffff00000000ULL)));
  const __m256d pio2Hi = _mm256_set1_pd(kPio2Hi), pio2Lo = _mm256_set1_pd(kPio2Lo), piHi = _mm256_set1_pd(kPiHi),
                halfPiLo = _mm256_set1_pd(0.5 * kPiLo);
  int64_t k = 0;
  for (; k + 4 <= m; k += 4) {
    const __m256d c = _mm256_loadu_pd(t + k);
    const __m256d ax = _mm256_and_pd(c, absMask);
    const __m256d big = _mm256_cmp_pd(ax, half, _CMP_GT_OQ);
    const __m256d z0 = _mm256_mul_pd(c, c);
    const __m256d small = _mm256_sub_pd(
        pio2Hi, _mm256_add_pd(c, _mm256_sub_pd(_mm256_mul_pd(c, _mm256_mul_pd(z0, AsinPoly4(z0))), pio2Lo)));
    const __m256d tt = _mm256_and_pd(big, _mm256_mul_pd(_mm256_sub_pd(one, ax), half));
    const __m256d s = _mm256_sqrt_pd(tt);
    const __m256d w = _mm256_and_pd(s, hiMask);
    const __m256d den = _mm256_add_pd(s, w);
    const __m256d corr =
        _mm256_and_pd(_mm256_cmp_pd(den, zero, _CMP_GT_OQ), _mm256_div_pd(_mm256_sub_pd(tt, _mm256_mul_pd(w, w)), den));
    const __m256d p = _mm256_mul_pd(s, _mm256_mul_pd(tt, AsinPoly4(tt)));
    const __m256d pos = _mm256_mul_pd(two, _mm256_add_pd(w, _mm256_add_pd(corr, p)));
    const __m256d neg = _mm256_sub_pd(piHi, _mm256_mul_pd(two, _mm256_add_pd(s, _mm256_sub_pd(p, halfPiLo))));
    const __m256d wide = _mm256_blendv_pd(neg, pos, _mm256_cmp_pd(c, zero, _CMP_GT_OQ));
    _mm256_storeu_pd(t + k, _mm256_blendv_pd(small, wide, big));
  }
  for (; k < m; ++k) t[k] = AcosOne(t[k]);
}
void AcosRange(double* t, int64_t m) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return AcosRangeAvx2(t, m);
  for (int64_t k = 0; k < m; ++k) t[k] = AcosOne(t[k]);
}
#else
void AcosRange(double* t, int64_t m) {
  for (int64_t k = 0; k < m; ++k) t[k] = AcosOne(t[k]);
}
#endif

// ‖x_i/n_i − x_j/n_j‖² without cancellation for nearly parallel rows: with δ = x_i − x_j,
// x_i/n_i − x_j/n_j = δ/n_i + x_j (n_j − n_i)/(n_i n_j), and n_j − n_i = −δ·(x_i + x_j)/(n_i + n_j).
template <typename T>
double UnitChord2(const T* a, double na, const T* b, double nb, int64_t d) {
  if (na > 2 * nb || nb > 2 * na) {
    // Norms far apart: the expansion below cancels (both of its terms grow like nb/na), while
    // the unit vectors themselves subtract accurately.
    double s = 0;
    for (int64_t k = 0; k < d; ++k) {
      const double t = double(a[k]) / na - double(b[k]) / nb;
      s += t * t;
    }
    return s;
  }
  double dn = 0;
  for (int64_t k = 0; k < d; ++k) dn -= (double(a[k]) - double(b[k])) * (double(a[k]) + double(b[k]));
  const double c = dn / (na + nb) / (na * nb);
  double s = 0;
  for (int64_t k = 0; k < d; ++k) {
    double t = (double(a[k]) - double(b[k])) / na + double(b[k]) * c;
    s += t * t;
  }
  return s;
}

// The squared norms sq[0..n) (the Gram diagonal) checked in index order: finite (else the entries
// were too large), and non-zero for the angular metrics, which get inv[i] = 1/√sq[i].
template <typename T>
Status CheckNorms(const double* sq, int64_t n, Metric metric, const std::string& name, double* inv) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(sq[i])) {
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "Expected rows whose squared norm is finite in %s for %s but received row %lld "
                    "with squared norm Infinity (entries too large; rescale the input)",
                    sizeof(T) == 4 ? "float32 (precision 'float32')" : "float64", name.c_str(),
                    static_cast<long long>(i));
      return Status::Range(buf);
    }
  }
  if (IsAngular(metric)) {
    for (int64_t i = 0; i < n; ++i) {
      if (!(sq[i] > 0)) {
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "Expected rows with %s for %s (metric '%s') but received a %s row at index "
                      "%lld",
                      metric == Metric::Correlation ? "non-zero variance" : "non-zero norm", name.c_str(),
                      MetricName(metric), metric == Metric::Correlation ? "constant" : "zero",
                      static_cast<long long>(i));
        return Status::Range(buf);
      }
      inv[i] = 1.0 / std::sqrt(sq[i]);
    }
  }
  return Status::Ok();
}

// Calls body(fill) with the fill of StoreTile that turns Gram entries (G) into distances of
// `metric`, given the squared norms sqp and (angular metrics) their inverse roots invp.
// rows: the (possibly centred) data the Gram matrix was built from, used for close pairs.
template <typename T, typename G, typename Body>
void WithDistanceFill(const T* rows, int64_t d, Metric metric, double closeTol, const double* sqp, const double* invp,
                      Body body) {
  if (!IsAngular(metric)) {
    const bool root = metric != Metric::SqEuclidean;
    auto fill = [=](int64_t i, int64_t jb, int64_t je, const G* gi, double* t) {
      const double si = sqp[i];
      // Branch-free first (vectorised), then the rare close pairs, then the clamp at 0 and the
      // roots. Locals and __restrict: stores to t cannot change them, so the loops need no reloads.
      const double tol = closeTol;
      const double* __restrict sj = sqp;
      const G* __restrict gr = gi;
      double* __restrict tr = t;
      for (int64_t j = jb; j < je; ++j) tr[j] = (si + sj[j]) - 2.0 * double(gr[j]);
      const T* xi = rows + i * d;
      for (int64_t j = jb; j < je; ++j)
        if (tr[j] < tol * (si + sj[j])) tr[j] = SqDiff(xi, rows + j * d, d);
      if (root)
        ClampSqrtRange(t + jb, je - jb);
      else
        for (int64_t j = jb; j < je; ++j) t[j] = t[j] > 0.0 ? t[j] : 0.0;
    };
    body(fill);
  } else {
    const bool arc = metric == Metric::Angular;
    auto fill = [=](int64_t i, int64_t jb, int64_t je, const G* gi, double* t) {
      const double ii = invp[i];
      // The cosines first (vectorised), then their distances, nearly parallel pairs from the rows.
      const double tol = closeTol;
      const double* __restrict vj = invp;
      const G* __restrict gr = gi;
      double* __restrict tr = t;
      for (int64_t j = jb; j < je; ++j) tr[j] = double(gr[j]) * ii * vj[j];
      const T* xi = rows + i * d;
      if (arc) {
        // The cosines, their arccos in one branch-free pass (AcosRange), then the rare close
        // pairs again from the rows (kTile entries at most per tile row).
        int64_t close[kTile];
        int nc = 0;
        for (int64_t j = jb; j < je; ++j) {
          const double c = tr[j];
          if (1.0 - c < tol) close[nc++] = j;
          tr[j] = std::min(1.0, std::max(-1.0, c));
        }
        AcosRange(tr + jb, je - jb);
        for (int q = 0; q < nc; ++q) {
          const int64_t j = close[q];
          // Chord length of the two unit vectors, computed directly.
          const double chord2 = UnitChord2(xi, 1.0 / ii, rows + j * d, 1.0 / invp[j], d);
          tr[j] = 2.0 * std::asin(std::min(1.0, 0.5 * std::sqrt(chord2)));
        }
        return;
      }
      for (int64_t j = jb; j < je; ++j) {
        double c = tr[j];
        double v;
        if (1.0 - c < tol) {
          // Chord length of the two unit vectors, computed directly.
          v = 0.5 * UnitChord2(xi, 1.0 / ii, rows + j * d, 1.0 / invp[j], d);
        } else {
          c = std::min(1.0, std::max(-1.0, c));
          v = 1.0 - c;
        }
        tr[j] = v;
      }
    };
    body(fill);
  }
}

// Turns the upper triangle of a Gram matrix g (row-major n x n, float or double; g may be out
// itself) into the full distance matrix in out, in one tiled pass (TiledSymmetric).
template <typename T, typename G>
Status GramToDistance(const T* rows, int64_t n, int64_t d, Metric metric, double closeTol, const std::string& name,
                      const G* g, double* out) {
  std::vector<double> sq(n), inv(n);
  for (int64_t i = 0; i < n; ++i) sq[i] = double(g[i * n + i]);
  Status s = CheckNorms<T>(sq.data(), n, metric, name, inv.data());
  if (!s.ok()) return s;
  WithDistanceFill<T, G>(rows, d, metric, closeTol, sq.data(), inv.data(),
                         [&](auto& fill) { TiledSymmetric(g, n, true, out, fill); });
  return Status::Ok();
}

// The upper triangle of A Aᵀ (?syrk) of the n x d rows a into out (n x n, row-major), in the
// precision of a.
void UpperGram(const double* a, int64_t n, int64_t d, double* out) {
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, int(n), int(d), 1.0, a, int(d), 0.0, out, int(n));
}
void UpperGram(const float* a, int64_t n, int64_t d, float* out) {
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, int(n), int(d), 1.0f, a, int(d), 0.0f, out, int(n));
}

// A Bᵀ (?gemm) of the m x d rows a and the k x d rows b into out (m x k, row-major).
void CrossGram(const double* a, const double* b, int64_t m, int64_t k, int64_t d, double* out) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(k), int(d), 1.0, a, int(d), b, int(d), 0.0, out,
              int(k));
}
void CrossGram(const float* a, const float* b, int64_t m, int64_t k, int64_t d, float* out) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(k), int(d), 1.0f, a, int(d), b, int(d), 0.0f, out,
              int(k));
}

// Runs work(k, g, tile, col) for k in [0, count) on `threads` threads, each taking the next
// k as it finishes one (blocks are taken in order; a thread slowed by other work takes fewer).
// g: the thread's part of `buffers` (bufferSize elements each).
template <typename T, typename W>
void EachBlock(int64_t count, int threads, T* buffers, int64_t bufferSize, W work) {
  std::atomic<int64_t> next{0};
  ParallelFor(threads, threads, [&](int64_t w, int64_t) {
    T* g = buffers + w * bufferSize;
    std::vector<double> tile(static_cast<size_t>(kTile * kTile)), col(static_cast<size_t>(kTile * kTile));
    for (int64_t k = next++; k < count; k = next++) work(k, g, tile.data(), col.data());
    StreamFence();
  });
}

// Distances without an N x N Gram matrix: the Gram matrix is computed block by block (block x
// block: ?syrk on the diagonal, ?gemm off it, the flops of one ?syrk), and each block is turned
// into distances and stored, with its mirror, while it is still in cache, so the O(N²) pass
// never reads a Gram matrix back from memory. The diagonal blocks come first: they give the
// squared norms (the Gram diagonal) every other block needs. Inside a threaded scope the blocks
// are shared among the scope's threads, each calling the BLAS single-threaded (BlasSplit).
template <typename T>
Status BlockedDistance(const T* a, int64_t n, int64_t d, Metric metric, double closeTol, const std::string& name,
                       int64_t block, int64_t width, double* out) {
  std::vector<double> sq(static_cast<size_t>(n)), inv(static_cast<size_t>(n));
  const int64_t nb = (n + block - 1) / block;
  // The off-diagonal part of each row panel of `block` rows, in chunks of at most `width` columns.
  struct Unit {
    int64_t i0, j0, j1;
  };
  std::vector<Unit> units;
  for (int64_t i0 = 0; i0 + block < n; i0 += block)
    for (int64_t j0 = i0 + block; j0 < n; j0 += width) units.push_back({i0, j0, std::min(n, j0 + width)});
  const bool stream = 8.0 * double(n) * double(n) >= kStreamBytes;
  const bool angular = IsAngular(metric);
  BlasSplit split;
  // One Gram block or chunk per thread, from the pool (mapped memory reused across calls).
  const int64_t bufferSize = block * std::max(block, std::min(width, n));
  PooledArray<T> buffers(size_t(bufferSize) * size_t(split.threads()));
  Status status;
  WithDistanceFill<T, T>(a, d, metric, closeTol, sq.data(), inv.data(), [&](auto& fill) {
    // Sub-tiles of kTile of the block rows [i0, i1) x columns [j0, j1) (diag: its upper triangle).
    const auto store = [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1, bool diag, const T* g, double* tile,
                           double* col) {
      const int64_t ld = j1 - j0;
      const auto gRow = [=](int64_t i) { return g + (i - i0) * ld - j0; };
      for (int64_t r0 = i0; r0 < i1; r0 += kTile)
        for (int64_t c0 = diag ? r0 : j0; c0 < j1; c0 += kTile)
          StoreTile<T>(n, r0, std::min(i1, r0 + kTile), c0, std::min(j1, c0 + kTile), diag && r0 == c0, true, gRow,
                       stream, stream, tile, col, out, fill);
    };
    EachBlock<T>(nb, split.threads(), buffers.get(), bufferSize, [&](int64_t I, T* g, double* tile, double* col) {
      const int64_t i0 = I * block, i1 = std::min(n, i0 + block), m = i1 - i0;
      UpperGram(a + i0 * d, m, d, g);
      bool ok = true;
      for (int64_t i = i0; i < i1; ++i) {
        const double s = double(g[(i - i0) * m + (i - i0)]);
        sq[size_t(i)] = s;
        ok = ok && std::isfinite(s) && (!angular || s > 0);
        if (ok && angular) inv[size_t(i)] = 1.0 / std::sqrt(s);
      }
      if (ok) store(i0, i1, i0, i1, true, g, tile, col);  // else CheckNorms below reports the row
    });
    status = CheckNorms<T>(sq.data(), n, metric, name, inv.data());
    if (!status.ok()) return;
    EachBlock<T>(int64_t(units.size()), split.threads(), buffers.get(), bufferSize,
                 [&](int64_t k, T* g, double* tile, double* col) {
                   const Unit& u = units[size_t(k)];
                   const int64_t i0 = u.i0, i1 = std::min(n, i0 + block);
                   CrossGram(a + i0 * d, a + u.j0 * d, i1 - i0, u.j1 - u.j0, d, g);
                   store(i0, i1, u.j0, u.j1, false, g, tile, col);
                 });
  });
  return status;
}

// How Distance computes the Gram matrix of n rows of d columns: block = 0, one ?syrk of the
// whole matrix and the tiled pass (GramToDistance); else BlockedDistance with row panels of
// `block` rows in chunks of `width` columns. A test and benchmark hook can force either.
struct Layout {
  int64_t block, width;
};
std::atomic<int>& ForcedBlock() {
  static std::atomic<int> v{-1};
  return v;
}
std::atomic<int>& ForcedWidth() {
  static std::atomic<int> v{0};
  return v;
}

Layout DistanceLayout(int64_t n, int64_t d, Precision p) {
  const int block = ForcedBlock().load(), width = ForcedWidth().load();
  if (block >= 0) return {block, width > 0 ? width : n};
  // Measured (docs/performance.md, "Distances: the Gram matrix block by block"): the blocked
  // Gram is at least as fast from a few hundred rows on, for every D measured (64-784); whole row
  // panels of 128 rows below 1024 rows (enough panels for two threads), of 256 above. Each
  // thread's buffer is capped at 8 MiB (panels of 4096 columns and more come in chunks), so the
  // temporary memory stays bounded whatever N.
  (void)d;
  if (n < 384) return {0, 0};
  const int64_t b = n < 1024 ? 128 : 256, cap = (int64_t(8) << 20) / (b * (p == Precision::F64 ? 8 : 4));
  return {b, std::min(n, cap)};
}

// Copies x into T storage, scaling row i by 2^-exps[i] when exps is given (exact: a power of
// two) and then centring each row when asked (correlation distance).
template <typename T>
const T* Working(const MatView& x, bool centre, PooledArray<T>& w, const std::vector<int>* exps = nullptr) {
  const int64_t n = x.rows, d = x.cols;
  w.reset(static_cast<size_t>(n * d));
  if (!exps && !centre) {
    // The common case, a plain widening (or float32 copy): one conversion loop the compiler
    // vectorises, where the general loop below calls ldexp per entry (a fifth of a 500 x 256
    // angular distance matrix). The same values: ldexp(v, 0) − 0 is v.
    T* wp = w.get();
    if (x.f32) {
      const float* s = static_cast<const float*>(x.data);
      for (int64_t i = 0; i < n * d; ++i) wp[i] = static_cast<T>(s[i]);
    } else {
      const double* s = static_cast<const double*>(x.data);
      for (int64_t i = 0; i < n * d; ++i) wp[i] = static_cast<T>(s[i]);
    }
    return wp;
  }
  for (int64_t i = 0; i < n; ++i) {
    const int e = exps ? (*exps)[size_t(i)] : 0;
    double mean = 0;
    if (centre) {
      for (int64_t k = 0; k < d; ++k) mean += std::ldexp(x.at(i, k), -e);
      mean /= double(d);
    }
    T* wi = w.get() + i * d;
    for (int64_t k = 0; k < d; ++k) wi[k] = static_cast<T>(std::ldexp(x.at(i, k), -e) - mean);
  }
  return w.get();
}

// Multiplies the n x n result by 2^e after checking that its largest entry stays in range.
Status Unscale(double* out, int64_t n, int e, const std::string& what, const std::string& name) {
  double largest = 0;
  for (int64_t i = 0; i < n * n; ++i) largest = std::fmax(largest, std::fabs(out[i]));
  Status s = CheckResultRange(largest, e, what, name,
                              e > 0 ? "entries too large: rescale the input" : "entries too small: rescale the input");
  if (!s.ok()) return s;
  for (int64_t i = 0; i < n * n; ++i) out[i] = std::ldexp(out[i], e);
  return s;
}

// Both triangles of out from the upper triangle of the Gram matrix g (widened to double).
template <typename G>
void MirrorGram(const G* g, int64_t n, double* out) {
  TiledSymmetric(g, n, false, out, [](int64_t, int64_t jb, int64_t je, const G* gi, double* t) {
    for (int64_t j = jb; j < je; ++j) t[j] = double(gi[j]);
  });
}

// max|x_ik| of every row into rowMax (MaxAbsRowFinite), rows split across threads; returns
// whether every entry is finite.
bool RowMaxFinite(const MatView& x, double* rowMax) {
  const int64_t n = x.rows;
  const int t = (n * x.cols < (int64_t(1) << 18)) ? 1 : std::max(1, std::min(BlasThreads(), HardwareThreads()));
  std::vector<char> ok(size_t(std::max(t, 1)), 1);
  const int64_t chunk = (n + t - 1) / t;
  ParallelFor(n, t, [&](int64_t r0, int64_t r1) {
    bool all = true;
    for (int64_t i = r0; i < r1; ++i) {
      bool finite = true;
      rowMax[i] = MaxAbsRowFinite(x, i, &finite);
      all = all && finite;
    }
    if (!all) ok[size_t(r0 / chunk)] = 0;
  });
  return std::all_of(ok.begin(), ok.end(), [](char c) { return c != 0; });
}

// The input checks (CheckInput: finite values, the float32 range for precision 'float32') in
// the pass that finds the scale (rowMax, *overall = max|x|), instead of a check pass and a
// scaling pass; on failure CheckInput names the entry.
Status CheckedRowMax(const MatView& x, Precision p, double* rowMax, double* overall) {
  const bool finite = RowMaxFinite(x, rowMax);
  double m = 0;
  for (int64_t i = 0; i < x.rows; ++i) m = rowMax[i] > m ? rowMax[i] : m;
  *overall = m;
  if (!finite || (p == Precision::F32 && !x.f32 && m > double(std::numeric_limits<float>::max())))
    return CheckInput(x, p);
  return Status::Ok();
}

}  // namespace

Status Gram(const MatView& x, Precision p, double* out) {
  FaultPoint(FaultSite::Kernel);
  const int64_t n = x.rows, d = x.cols;
  std::vector<double> rowMax(static_cast<size_t>(n));
  double amax = 0;
  Status checked = CheckedRowMax(x, p, rowMax.data(), &amax);
  if (!checked.ok()) return checked;
  // Entries whose squares would underflow or overflow are scaled by 2^-e first (scale.h).
  const int e = ScaleExponent(amax, SafeExp(p));
  std::vector<int> exps;
  if (e != 0) exps.assign(size_t(n), e);
  const std::vector<int>* ex = e != 0 ? &exps : nullptr;
  if (p == Precision::F64) {
    PooledArray<double> copy;
    const double* a = (x.f32 || ex) ? Working<double>(x, false, copy, ex) : static_cast<const double*>(x.data);
    UpperGram(a, n, d, out);
    MirrorGram(out, n, out);
  } else {
    PooledArray<float> copy;
    const float* a = (x.f32 && !ex) ? static_cast<const float*>(x.data) : Working<float>(x, false, copy, ex);
    PooledArray<float> g(size_t(n) * size_t(n));
    UpperGram(a, n, d, g.get());
    MirrorGram(g.get(), n, out);
  }
  return e != 0 ? Unscale(out, n, 2 * e, "a Gram matrix", x.name) : Status::Ok();
}

Status Distance(const MatView& x, Metric metric, Precision p, double* out) {
  FaultPoint(FaultSite::Kernel);
  const int64_t n = x.rows, d = x.cols;
  const bool centre = metric == Metric::Correlation;
  const bool angular = metric == Metric::Cosine || metric == Metric::Angular || metric == Metric::Correlation;
  // Scaling by powers of two (scale.h): cosine-type metrics do not depend on a row's scale, so
  // each row gets its own exponent (and none is scaled back); the Euclidean ones scale the whole
  // matrix by one exponent, undone on the distances.
  std::vector<double> rowMax(static_cast<size_t>(n));
  double amax = 0;
  Status checked = CheckedRowMax(x, p, rowMax.data(), &amax);
  if (!checked.ok()) return checked;
  const int safe = SafeExp(p);
  std::vector<int> exps;
  int e = 0;
  if (angular) {
    for (int64_t i = 0; i < n; ++i) {
      const int ei = ScaleExponent(rowMax[size_t(i)], safe);
      if (ei != 0 && exps.empty()) exps.assign(size_t(n), 0);
      if (ei != 0) exps[size_t(i)] = ei;
    }
  } else {
    e = ScaleExponent(amax, safe);
    if (e != 0) exps.assign(size_t(n), e);
  }
  const std::vector<int>* ex = exps.empty() ? nullptr : &exps;
  Status s;
  if (p == Precision::F64) {
    // Pairs whose Gram expansion would lose more than ~1e-13 relative accuracy are recomputed.
    const double tol = 1e-3;
    PooledArray<double> copy;
    const double* a =
        (x.f32 || centre || ex) ? Working<double>(x, centre, copy, ex) : static_cast<const double*>(x.data);
    if (const Layout l = DistanceLayout(n, d, p); l.block > 0) {
      s = BlockedDistance(a, n, d, metric, tol, x.name, l.block, l.width, out);
    } else {
      UpperGram(a, n, d, out);
      s = GramToDistance(a, n, d, metric, tol, x.name, static_cast<const double*>(out), out);
    }
  } else {
    // float32 Gram (opt-in speed): close pairs are still recomputed in double from the rows.
    const double tol = 3e-2;
    PooledArray<float> copy;
    const float* a =
        (x.f32 && !centre && !ex) ? static_cast<const float*>(x.data) : Working<float>(x, centre, copy, ex);
    if (const Layout l = DistanceLayout(n, d, p); l.block > 0) {
      s = BlockedDistance(a, n, d, metric, tol, x.name, l.block, l.width, out);
    } else {
      PooledArray<float> g(size_t(n) * size_t(n));
      UpperGram(a, n, d, g.get());
      s = GramToDistance(a, n, d, metric, tol, x.name, static_cast<const float*>(g.get()), out);
    }
  }
  if (!s.ok() || e == 0) return s;
  return Unscale(out, n, metric == Metric::SqEuclidean ? 2 * e : e, "distances", x.name);
}

void SetDistanceBlock(int block, int width) {
  ForcedBlock().store(block < 0 ? -1 : block);
  ForcedWidth().store(width > 0 ? width : 0);
}

double DistanceWorkBytes(const MatView& x, Metric metric, Precision p) {
  const double n = double(x.rows), d = double(x.cols);
  double bytes = 16.0 * n;  // norms
  // A working copy of x (widened, centred, or scaled: scale.h) is counted whether or not needed.
  (void)metric;
  if (p == Precision::F64) {
    bytes += 8.0 * n * d;
  } else {
    bytes += 4.0 * n * n + 4.0 * n * d;  // the float32 Gram matrix of the one-?syrk path (and of Gram)
  }
  // The blocked Gram: one panel chunk per thread.
  const Layout l = DistanceLayout(x.rows, x.cols, p);
  if (l.block > 0)
    bytes += (p == Precision::F64 ? 8.0 : 4.0) * double(HardwareThreads()) * double(l.block) *
             double(std::max(l.block, std::min(l.width, x.rows)));
  return bytes;
}

}  // namespace specdyn
