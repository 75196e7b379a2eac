// Fused float32 kernels for the tfjs backend (see fused.h).
#include "fused.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

// tfjs rounds every product before the sum that uses it; a fused multiply-add would not, so
// contraction is off here (it only matters on targets whose baseline has FMA, e.g. aarch64).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define SPECDYN_SQRT_SSE 1
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SPECDYN_ADAM_AVX2 1
#endif
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define SPECDYN_SQRT_NEON 1
#endif

namespace specdyn {

namespace {
std::string Num(int64_t v) { return std::to_string(static_cast<long long>(v)); }
}  // namespace

Status SoftmaxRowsF32(const float* x, int64_t xLen, int64_t rows, int64_t cols, float* out, int64_t outLen) {
  if (rows < 0 || cols < 0 || (cols > 0 && rows > INT64_MAX / cols) || rows * cols != xLen || outLen != xLen)
    return Status::Range("Expected x and out of length rows*cols (" + Num(rows) + " x " + Num(cols) +
                         ") for softmaxF32 but received lengths " + Num(xLen) + " and " + Num(outLen));
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = x + r * cols;
    float* o = out + r * cols;
    // The cpu Max kernel: the first value, then any larger one or any NaN.
    float mx = cols > 0 ? p[0] : 0.f;
    for (int64_t j = 0; j < cols; ++j)
      if (std::isnan(p[j]) || p[j] > mx) mx = p[j];
    double s = 0;
    for (int64_t j = 0; j < cols; ++j) {
      const float e = float(std::exp(double(p[j] - mx)));
      o[j] = e;
      s += e;
    }
    const float sf = float(s);
    for (int64_t j = 0; j < cols; ++j) o[j] = o[j] / sf;
  }
  return Status::Ok();
}

namespace {
// In-place square roots of p[0..n). std::sqrt may set errno, which keeps compilers from
// vectorising a loop that calls it; the vector instructions are correctly rounded, like sqrt.
void SqrtInPlace(float* p, int64_t n) {
  int64_t i = 0;
#if defined(SPECDYN_SQRT_SSE)
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(p + i, _mm_sqrt_ps(_mm_loadu_ps(p + i)));
#elif defined(SPECDYN_SQRT_NEON)
  for (; i + 4 <= n; i += 4) vst1q_f32(p + i, vsqrtq_f32(vld1q_f32(p + i)));
#endif
  for (; i < n; ++i) p[i] = std::sqrt(p[i]);
}

// One block of the Adam step into scratch outputs that alias nothing, so the loops vectorise
// (the inputs are only read; several may be the same buffer).
constexpr int64_t kAdamBlock = 512;
void AdamBlock(const float* __restrict g, const float* __restrict m, const float* __restrict v,
               const float* __restrict w, int64_t n, const AdamConsts& c, float bc1, float bc2, float* __restrict mo,
               float* __restrict vo, float* __restrict wo) {
  const float b1 = c.beta1, c1 = c.oneMinusBeta1, b2 = c.beta2, c2 = c.oneMinusBeta2;
  const float eps = c.epsilon, nlr = c.negLearningRate;
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float v1 = v[i] * b2 + (gi * gi) * c2;
    mo[i] = m[i] * b1 + gi * c1;
    vo[i] = v1;
    wo[i] = v1 / bc2;
  }
  // float sqrt is correctly rounded, so it equals tfjs's double Math.sqrt rounded to float32.
  SqrtInPlace(wo, n);
  for (int64_t i = 0; i < n; ++i) wo[i] = ((mo[i] / bc1) / (wo[i] + eps)) * nlr + w[i];
}
#if defined(SPECDYN_ADAM_AVX2)
// The same step eight lanes at a time, for CPUs with AVX2 (chosen at run time). Only "avx2" is
// enabled here, not "fma": products and sums stay separately rounded, as in tfjs. Each group of
// eight is loaded before it is stored, so an output may be the very buffer of an input; the
// ragged tail goes through AdamBlock.
__attribute__((target("avx2"))) int64_t AdamAvx2(const float* g, const float* m, const float* v, const float* w,
                                                 int64_t n, const AdamConsts& c, float bc1, float bc2, float* mo,
                                                 float* vo, float* wo) {
  const __m256 b1 = _mm256_set1_ps(c.beta1), c1 = _mm256_set1_ps(c.oneMinusBeta1);
  const __m256 b2 = _mm256_set1_ps(c.beta2), c2 = _mm256_set1_ps(c.oneMinusBeta2);
  const __m256 k1 = _mm256_set1_ps(bc1), k2 = _mm256_set1_ps(bc2);
  const __m256 eps = _mm256_set1_ps(c.epsilon), nlr = _mm256_set1_ps(c.negLearningRate);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 gi = _mm256_loadu_ps(g + i);
    const __m256 m1 = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), b1), _mm256_mul_ps(gi, c1));
    const __m256 v1 =
        _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2), _mm256_mul_ps(_mm256_mul_ps(gi, gi), c2));
    const __m256 den = _mm256_add_ps(_mm256_sqrt_ps(_mm256_div_ps(v1, k2)), eps);
    const __m256 step = _mm256_mul_ps(_mm256_div_ps(_mm256_div_ps(m1, k1), den), nlr);
    const __m256 w1 = _mm256_add_ps(step, _mm256_loadu_ps(w + i));
    _mm256_storeu_ps(mo + i, m1);
    _mm256_storeu_ps(vo + i, v1);
    _mm256_storeu_ps(wo + i, w1);
  }
  return i;
}

bool HasAvx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif
}  // namespace

Status AdamUpdateF32(const float* g, const float* m, const float* v, const float* w, int64_t n, const AdamConsts& c,
                     float* mOut, float* vOut, float* wOut) {
  if (n < 0) return Status::Range("Expected a non-negative length for adamF32 but received " + Num(n));
  const float bc1 = 1.f - c.accBeta1;  // tfjs: sub(1, accBeta1), in float32
  const float bc2 = 1.f - c.accBeta2;
  int64_t start = 0;
#if defined(SPECDYN_ADAM_AVX2)
  if (HasAvx2()) start = AdamAvx2(g, m, v, w, n, c, bc1, bc2, mOut, vOut, wOut);
#endif
  float mo[kAdamBlock], vo[kAdamBlock], wo[kAdamBlock];
  // Block by block: a block's outputs are written only after all of its inputs were read, so an
  // output may be the very buffer of an input.
  for (int64_t i0 = start; i0 < n; i0 += kAdamBlock) {
    const int64_t len = std::min(kAdamBlock, n - i0);
    AdamBlock(g + i0, m + i0, v + i0, w + i0, len, c, bc1, bc2, mo, vo, wo);
    std::memcpy(mOut + i0, mo, size_t(len) * sizeof(float));
    std::memcpy(vOut + i0, vo, size_t(len) * sizeof(float));
    std::memcpy(wOut + i0, wo, size_t(len) * sizeof(float));
  }
  return Status::Ok();
}

}  // namespace specdyn
