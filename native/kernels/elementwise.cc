// Float32 element-wise kernels for the tfjs backend (see elementwise.h).
#include "elementwise.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace specdyn {

namespace {
std::string Num(int64_t v) { return std::to_string(static_cast<long long>(v)); }

template <typename E>
bool Lookup(const char* name, const std::pair<const char*, E>* table, size_t n, E* out) {
  for (size_t i = 0; i < n; ++i) {
    if (std::strcmp(name, table[i].first) == 0) {
      *out = table[i].second;
      return true;
    }
  }
  return false;
}

// Inner loop with fixed operand steps (0 or 1) so the compiler can vectorise the common cases.
template <typename F>
inline void Run(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n, F f) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i * sa], b[i * sb]);
  }
}

template <typename F>
void Broadcast(const float* a, const float* b, float* out, int64_t outLen, int rank, const int32_t* shape,
               const int32_t* as, const int32_t* bs, F f) {
  if (rank == 0) return;
  const int64_t inner = shape[rank - 1];
  if (inner == 0 || outLen == 0) return;
  const int64_t rows = outLen / inner;
  std::vector<int64_t> idx(rank, 0);
  int64_t ao = 0, bo = 0;
  for (int64_t r = 0; r < rows; ++r) {
    Run(a + ao, as[rank - 1], b + bo, bs[rank - 1], out + r * inner, inner, f);
    // Odometer over the outer dims.
    for (int d = rank - 2; d >= 0; --d) {
      ao += as[d];
      bo += bs[d];
      if (++idx[d] < shape[d]) break;
      ao -= int64_t(as[d]) * shape[d];
      bo -= int64_t(bs[d]) * shape[d];
      idx[d] = 0;
    }
  }
}

template <typename F>
Status Dispatch2(const float* a, int64_t aLen, const float* b, int64_t bLen, float* out, int64_t outLen, int rank,
                 const int32_t* shape, const int32_t* as, const int32_t* bs, F f) {
  if (rank == 0) {
    if ((aLen != outLen && aLen != 1) || (bLen != outLen && bLen != 1))
      return Status::Range("Expected operands of length " + Num(outLen) + " or 1 for binaryF32 but received " +
                           Num(aLen) + " and " + Num(bLen));
    if (outLen == 0) return Status::Ok();
    Run(a, aLen == 1 ? 0 : 1, b, bLen == 1 ? 0 : 1, out, outLen, f);
    return Status::Ok();
  }
  Broadcast(a, b, out, outLen, rank, shape, as, bs, f);
  return Status::Ok();
}
}  // namespace

bool ParseBinaryOp(const char* name, BinaryOp* out) {
  static const std::pair<const char*, BinaryOp> t[] = {{"Add", BinaryOp::Add},
                                                       {"Sub", BinaryOp::Sub},
                                                       {"Multiply", BinaryOp::Mul},
                                                       {"RealDiv", BinaryOp::Div},
                                                       {"Maximum", BinaryOp::Maximum},
                                                       {"Minimum", BinaryOp::Minimum},
                                                       {"SquaredDifference", BinaryOp::SquaredDifference}};
  return Lookup(name, t, sizeof t / sizeof t[0], out);
}

bool ParseUnaryOp(const char* name, UnaryOp* out) {
  static const std::pair<const char*, UnaryOp> t[] = {
      {"Sqrt", UnaryOp::Sqrt},       {"Rsqrt", UnaryOp::Rsqrt},
      {"Square", UnaryOp::Square},   {"Neg", UnaryOp::Neg},
      {"Abs", UnaryOp::Abs},         {"Exp", UnaryOp::Exp},
      {"Log", UnaryOp::Log},         {"Relu", UnaryOp::Relu},
      {"Relu6", UnaryOp::Relu6},     {"Elu", UnaryOp::Elu},
      {"Sigmoid", UnaryOp::Sigmoid}, {"Tanh", UnaryOp::Tanh},
      {"Step", UnaryOp::Step},       {"Reciprocal", UnaryOp::Reciprocal}};
  return Lookup(name, t, sizeof t / sizeof t[0], out);
}

Status BinaryF32(BinaryOp op, const float* a, int64_t aLen, const float* b, int64_t bLen, float* out, int64_t outLen,
                 int rank, const int32_t* shape, const int32_t* aStrides, const int32_t* bStrides) {
  if (rank > 0) {
    int64_t total = 1, aMax = 0, bMax = 0;
    for (int d = 0; d < rank; ++d) {
      if (shape[d] < 0 || aStrides[d] < 0 || bStrides[d] < 0)
        return Status::Range(
            "Expected non-negative shape and strides for binaryF32 but received "
            "a negative entry at dim " +
            Num(d));
      int64_t da = 0, db = 0;
      if (__builtin_mul_overflow(total, int64_t(shape[d]), &total) ||
          (shape[d] > 0 && (__builtin_mul_overflow(int64_t(shape[d] - 1), int64_t(aStrides[d]), &da) ||
                            __builtin_mul_overflow(int64_t(shape[d] - 1), int64_t(bStrides[d]), &db) ||
                            __builtin_add_overflow(aMax, da, &aMax) || __builtin_add_overflow(bMax, db, &bMax))))
        return Status::Range(
            "Expected a shape whose size fits 64 bits for binaryF32 but received "
            "an overflow at dim " +
            Num(d));
    }
    if (total != outLen)
      return Status::Range("Expected out of length " + Num(total) + " for binaryF32 but received " + Num(outLen));
    if (total > 0 && (aMax >= aLen || bMax >= bLen))
      return Status::Range(
          "Expected strides within the operands for binaryF32 but received "
          "offsets up to " +
          Num(aMax) + " and " + Num(bMax) + " for lengths " + Num(aLen) + " and " + Num(bLen));
  }
  auto go = [&](auto f) { return Dispatch2(a, aLen, b, bLen, out, outLen, rank, shape, aStrides, bStrides, f); };
  switch (op) {
    case BinaryOp::Add: return go([](float x, float y) { return x + y; });
    case BinaryOp::Sub: return go([](float x, float y) { return x - y; });
    case BinaryOp::Mul: return go([](float x, float y) { return x * y; });
    case BinaryOp::Div: return go([](float x, float y) { return x / y; });
    // tfjs: Math.max/Math.min, which propagate NaN.
    case BinaryOp::Maximum: return go([](float x, float y) { return (x != x || y != y) ? NAN : (x > y ? x : y); });
    case BinaryOp::Minimum: return go([](float x, float y) { return (x != x || y != y) ? NAN : (x < y ? x : y); });
    case BinaryOp::SquaredDifference:
      return go([](float x, float y) {
        const double d = double(x) - double(y);
        return float(d * d);
      });
  }
  return Status::Ok();
}

Status UnaryF32(UnaryOp op, const float* x, int64_t n, float* out, int64_t outLen, float alpha) {
  if (n != outLen)
    return Status::Range("Expected out of length " + Num(n) + " for unaryF32 but received " + Num(outLen));
  auto map = [&](auto f) {
    for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
    return Status::Ok();
  };
  switch (op) {
    case UnaryOp::Sqrt: return map([](float v) { return float(std::sqrt(double(v))); });
    case UnaryOp::Rsqrt: return map([](float v) { return float(1.0 / std::sqrt(double(v))); });
    case UnaryOp::Square: return map([](float v) { return v * v; });
    case UnaryOp::Neg: return map([](float v) { return -v; });
    case UnaryOp::Abs: return map([](float v) { return std::fabs(v); });
    case UnaryOp::Exp: return map([](float v) { return float(std::exp(double(v))); });
    case UnaryOp::Log: return map([](float v) { return float(std::log(double(v))); });
    // `v < 0 ? 0 : v` keeps NaN, as Math.max(0, NaN) does.
    case UnaryOp::Relu: return map([](float v) { return v < 0.f ? 0.f : v; });
    case UnaryOp::Relu6: return map([](float v) { return v < 0.f ? 0.f : (v > 6.f ? 6.f : v); });
    case UnaryOp::Elu: return map([](float v) { return v >= 0.f ? v : float(std::exp(double(v)) - 1.0); });
    case UnaryOp::Sigmoid: return map([](float v) { return float(1.0 / (1.0 + std::exp(-double(v)))); });
    case UnaryOp::Tanh: return map([](float v) { return float(std::tanh(double(v))); });
    case UnaryOp::Step: return map([alpha](float v) { return v != v ? v : (v > 0.f ? 1.f : alpha); });
    case UnaryOp::Reciprocal: return map([](float v) { return 1.f / v; });
  }
  return Status::Ok();
}

Status SumF32(const float* x, int64_t xLen, int64_t outer, int64_t reduce, int64_t inner, float* out, int64_t outLen) {
  if (outer < 0 || reduce < 0 || inner < 0 || outer * reduce * inner != xLen || outer * inner != outLen)
    return Status::Range(
        "Expected x of length outer*reduce*inner and out of length outer*inner "
        "for sumF32 but received lengths " +
        Num(xLen) + " and " + Num(outLen) + " for [" + Num(outer) + ", " + Num(reduce) + ", " + Num(inner) + "]");
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) {
      const float* p = x + o * reduce;
      double s = 0;
      for (int64_t r = 0; r < reduce; ++r) s += p[r];
      out[o] = float(s);
    }
    return Status::Ok();
  }
  std::vector<double> acc(size_t(inner), 0.0);
  for (int64_t o = 0; o < outer; ++o) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t r = 0; r < reduce; ++r) {
      const float* p = x + (o * reduce + r) * inner;
      for (int64_t i = 0; i < inner; ++i) acc[size_t(i)] += p[i];
    }
    for (int64_t i = 0; i < inner; ++i) out[o * inner + i] = float(acc[size_t(i)]);
  }
  return Status::Ok();
}

}  // namespace specdyn
