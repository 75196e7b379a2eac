// Batched sgemm + fused epilogue for the tfjs backend (see gemm.h).
#include "gemm.h"

#include "pair_thread.h"

#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace specdyn {

bool ParseActivation(const char* name, Activation* out) {
  struct Entry {
    const char* name;
    Activation act;
  };
  static const Entry kTable[] = {
      {"linear", Activation::Linear}, {"relu", Activation::Relu},       {"relu6", Activation::Relu6},
      {"elu", Activation::Elu},       {"sigmoid", Activation::Sigmoid}, {"leakyrelu", Activation::LeakyRelu},
      {"prelu", Activation::Prelu},
  };
  for (const Entry& e : kTable) {
    if (std::strcmp(name, e.name) == 0) {
      *out = e.act;
      return true;
    }
  }
  return false;
}

namespace {

std::string Num(int64_t v) { return std::to_string(static_cast<long long>(v)); }

// How a broadcast operand of length len maps onto (batch index, row, column).
struct Broadcast {
  const float* p = nullptr;
  int64_t batchStride = 0, rowStride = 0, colStride = 0;
};

Status MakeBroadcast(const float* p, int64_t len, const GemmBatch& g, const char* name, Broadcast* out) {
  const int64_t mn = g.m * g.n;
  out->p = p;
  if (p == nullptr) return Status::Ok();
  if (len == g.batch * mn) {
    *out = {p, mn, g.n, 1};
  } else if (len == mn) {
    *out = {p, 0, g.n, 1};
  } else if (len == g.n) {
    *out = {p, 0, 0, 1};
  } else if (len == 1) {
    *out = {p, 0, 0, 0};
  } else {
    return Status::Range("Expected " + std::string(name) + " of length 1, " + Num(g.n) + ", " + Num(mn) + " or " +
                         Num(g.batch * mn) + " for sgemm but received " + Num(len));
  }
  return Status::Ok();
}

inline float Activate(float x, Activation act, float alpha, float w) {
  switch (act) {
    case Activation::Linear: return x;
    // NaN passes through relu/relu6 as Math.max/Math.min let it in tfjs; transcendentals in
    // double, as tfjs computes them.
    case Activation::Relu: return x < 0.f ? 0.f : x;
    case Activation::Relu6: return x < 0.f ? 0.f : (x > 6.f ? 6.f : x);
    case Activation::Elu: return x >= 0.f ? x : float(std::exp(double(x)) - 1.0);
    case Activation::Sigmoid: return float(1.0 / (1.0 + std::exp(-double(x))));
    case Activation::LeakyRelu: return x < 0.f ? alpha * x : x;
    case Activation::Prelu: return x < 0.f ? w * x : x;
  }
  return x;
}

// Bias and activation over one m x n output slice, in place.
void Epilogue(float* c, int64_t bi, const GemmBatch& g, const Broadcast& bias, const Broadcast& prelu) {
  if (bias.p == nullptr && g.act == Activation::Linear) return;
  for (int64_t i = 0; i < g.m; ++i) {
    float* row = c + i * g.n;
    if (bias.p != nullptr) {
      const float* br = bias.p + bi * bias.batchStride + i * bias.rowStride;
      if (bias.colStride == 1) {
        for (int64_t j = 0; j < g.n; ++j) row[j] += br[j];
      } else {
        const float v = br[0];
        for (int64_t j = 0; j < g.n; ++j) row[j] += v;
      }
    }
    switch (g.act) {
      case Activation::Linear: break;
      case Activation::Relu:
        for (int64_t j = 0; j < g.n; ++j) row[j] = row[j] < 0.f ? 0.f : row[j];
        break;
      case Activation::Prelu: {
        const float* wr = prelu.p + bi * prelu.batchStride + i * prelu.rowStride;
        for (int64_t j = 0; j < g.n; ++j) row[j] = Activate(row[j], g.act, g.alpha, wr[j * prelu.colStride]);
        break;
      }
      default:
        for (int64_t j = 0; j < g.n; ++j) row[j] = Activate(row[j], g.act, g.alpha, 0.f);
        break;
    }
  }
}

}  // namespace

Status SgemmBatch(const GemmBatch& g) {
  if (g.batch < 0 || g.m < 0 || g.n < 0 || g.k < 0)
    return Status::Range("Expected non-negative sizes for sgemm but received batch=" + Num(g.batch) +
                         ", m=" + Num(g.m) + ", n=" + Num(g.n) + ", k=" + Num(g.k));
  // CBLAS takes int sizes and leading dimensions.
  if (g.m > INT_MAX || g.n > INT_MAX || g.k > INT_MAX)
    return Status::Range("Expected m, n and k below 2^31 for sgemm but received m=" + Num(g.m) + ", n=" + Num(g.n) +
                         ", k=" + Num(g.k));
  // Every product below must stay exact in int64 (and in a double, for the messages).
  const double big = 9007199254740992.0;  // 2^53
  if (double(g.m) * double(g.k) > big || double(g.k) * double(g.n) > big ||
      double(g.batch) * double(g.m) * double(g.n) > big)
    return Status::Range(
        "Expected sizes whose products stay below 2^53 for sgemm but received "
        "batch=" +
        Num(g.batch) + ", m=" + Num(g.m) + ", n=" + Num(g.n) + ", k=" + Num(g.k));
  const int64_t aSize = g.m * g.k, bSize = g.k * g.n, cSize = g.m * g.n;
  if (g.outLen != g.batch * cSize)
    return Status::Range("Expected out of length " + Num(g.batch * cSize) + " for sgemm but received " + Num(g.outLen));
  // Slice counts; an empty slice size admits any (empty) operand.
  const int64_t aSlices = aSize > 0 ? g.aLen / aSize : g.batch;
  const int64_t bSlices = bSize > 0 ? g.bLen / bSize : g.batch;
  if (aSize > 0 && (g.aLen % aSize != 0 || aSlices == 0))
    return Status::Range("Expected a of length a multiple of " + Num(aSize) + " for sgemm but received " + Num(g.aLen));
  if (bSize > 0 && (g.bLen % bSize != 0 || bSlices == 0))
    return Status::Range("Expected b of length a multiple of " + Num(bSize) + " for sgemm but received " + Num(g.bLen));
  auto checkIndex = [&](const int32_t* idx, int64_t slices, int64_t sliceSize, const char* name) -> Status {
    if (idx == nullptr) {
      if (g.batch > 0 && sliceSize > 0 && slices != g.batch && slices != 1)
        return Status::Range("Expected " + std::string(name) + " to hold 1 or " + Num(g.batch) +
                             " matrices for sgemm but received " + Num(slices));
      return Status::Ok();
    }
    for (int64_t i = 0; i < g.batch; ++i) {
      if (idx[i] < 0 || idx[i] >= slices)
        return Status::Range("Expected " + std::string(name) + "Index entries in [0, " + Num(slices) +
                             ") for sgemm but received " + Num(idx[i]) + " at index " + Num(i));
    }
    return Status::Ok();
  };
  Status s = checkIndex(g.aIndex, aSlices, aSize, "a");
  if (!s.ok()) return s;
  s = checkIndex(g.bIndex, bSlices, bSize, "b");
  if (!s.ok()) return s;
  Broadcast bias, prelu;
  s = MakeBroadcast(g.bias, g.biasLen, g, "bias", &bias);
  if (!s.ok()) return s;
  if (g.act == Activation::Prelu) {
    if (g.prelu == nullptr) return Status::Range("Expected prelu weights for activation 'prelu' but received none");
    s = MakeBroadcast(g.prelu, g.preluLen, g, "prelu weights", &prelu);
    if (!s.ok()) return s;
  }
  if (cSize == 0) return Status::Ok();

  const int m = int(g.m), n = int(g.n), k = int(g.k);
  const int lda = std::max(1, g.transA ? m : k);
  const int ldb = std::max(1, g.transB ? k : n);
  // Rows [r0, r1) and columns [c0, c1) of output matrix i (bias and activation not applied).
  auto product = [&](int64_t i, int r0, int r1, int c0, int c1) {
    const int64_t ai = g.aIndex ? g.aIndex[i] : (aSlices == 1 ? 0 : i);
    const int64_t bj = g.bIndex ? g.bIndex[i] : (bSlices == 1 ? 0 : i);
    float* c = g.out + i * cSize + int64_t(r0) * n + c0;
    if (k == 0) {
      for (int r = r0; r < r1; ++r) std::fill(c + int64_t(r - r0) * n, c + int64_t(r - r0) * n + (c1 - c0), 0.f);
      return;  // an empty sum; BLAS may not touch C when k = 0
    }
    // op(A) rows r0.. start at row r0 of A (column r0 when A is stored transposed); op(B)
    // columns c0.. at column c0 of B (row c0 when B is stored transposed).
    const float* a = g.a + ai * aSize + (g.transA ? int64_t(r0) : int64_t(r0) * k);
    const float* b = g.b + bj * bSize + (g.transB ? int64_t(c0) * k : int64_t(c0));
    cblas_sgemm(CblasRowMajor, g.transA ? CblasTrans : CblasNoTrans, g.transB ? CblasTrans : CblasNoTrans, r1 - r0,
                c1 - c0, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
  };
  auto whole = [&](int64_t i) {
    product(i, 0, m, 0, n);
    Epilogue(g.out + i * cSize, i, g, bias, prelu);
  };
  if (g.split && g.batch > 1) {
    // Output matrices shared out: the first half here, the rest beside.
    const int64_t half = (g.batch + 1) / 2;
    RunPair(
        [&] {
          for (int64_t i = 0; i < half; ++i) whole(i);
        },
        [&] {
          for (int64_t i = half; i < g.batch; ++i) whole(i);
        });
    return Status::Ok();
  }
  for (int64_t i = 0; i < g.batch; ++i) {
    const bool rows = g.m >= g.n;  // cut the longer side, at a multiple of 16
    const int64_t extent = rows ? g.m : g.n;
    if (!g.split || extent < 2 * kSplitMinExtent || std::min(g.m, g.n) == 0) {
      whole(i);
      continue;
    }
    const int cut = int(((extent / 2 + 8) / 16) * 16);
    if (rows)
      RunPair([&] { product(i, 0, cut, 0, n); }, [&] { product(i, cut, m, 0, n); });
    else
      RunPair([&] { product(i, 0, m, 0, cut); }, [&] { product(i, 0, m, cut, n); });
    Epilogue(g.out + i * cSize, i, g, bias, prelu);
  }
  return Status::Ok();
}

}  // namespace specdyn
