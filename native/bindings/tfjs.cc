// N-API glue for the TensorFlow.js backend: a synchronous batched sgemm with fused bias and
// activation, element-wise maps and sums, all on Float32Array buffers read and written in place
// (zero-copy). tfjs kernels are synchronous, so these run on the calling thread; see
// docs/training.md for the thread policy.
#include <napi.h>

#include <cstdint>
#include <limits>
#include <string>

#include "../kernels/blas_gate.h"
#include "../kernels/elementwise.h"
#include "../kernels/fused.h"
#include "../kernels/gemm.h"
#include "args.h"
#include "bindings.h"

namespace specdyn {
namespace {

const char* kFn = "sgemmF32";

// A Float32Array argument (required, or nullable when optional).
bool F32Arg(Napi::Env env, Napi::Value v, const char* name, bool optional, const float** data, int64_t* len) {
  if (optional && (v.IsNull() || v.IsUndefined())) return false;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    ThrowType(env, optional ? "a Float32Array or null" : "a Float32Array",
              std::string(kFn) + " argument '" + name + "'", Describe(v));
  auto arr = v.As<Napi::Float32Array>();
  *data = arr.Data();  // honours subarray() offsets
  *len = int64_t(arr.ElementLength());
  return true;
}

const int32_t* IndexArg(Napi::Env env, Napi::Value v, const char* name, int64_t batch) {
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    ThrowType(env, "an Int32Array or null", std::string(kFn) + " argument '" + name + "'", Describe(v));
  auto arr = v.As<Napi::Int32Array>();
  if (int64_t(arr.ElementLength()) != batch)
    ThrowRange(env, "an Int32Array of length " + std::to_string(batch), std::string(kFn) + " argument '" + name + "'",
               Describe(v));
  return arr.Data();
}

bool BoolArg(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsBoolean()) ThrowType(env, "a boolean", std::string(kFn) + " argument '" + name + "'", Describe(v));
  return v.As<Napi::Boolean>().Value();
}

// sgemmF32(a, b, out, batch, m, n, k, transA, transB, aIndex, bIndex, bias, activation,
//          leakyreluAlpha, preluWeights, threadedMinFlops?, split?) -> undefined. Shapes and
//          semantics: see gemm.h.
Napi::Value SgemmF32Fn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GemmBatch g;
  F32Arg(env, info[0], "a", false, &g.a, &g.aLen);
  F32Arg(env, info[1], "b", false, &g.b, &g.bLen);
  {
    const float* out = nullptr;
    F32Arg(env, info[2], "out", false, &out, &g.outLen);
    g.out = const_cast<float*>(out);
  }
  const std::string fn(kFn);
  g.batch = ParseInteger(env, info[3], fn + " argument 'batch'", 0, INT32_MAX);
  g.m = ParseInteger(env, info[4], fn + " argument 'm'", 0, INT32_MAX);
  g.n = ParseInteger(env, info[5], fn + " argument 'n'", 0, INT32_MAX);
  g.k = ParseInteger(env, info[6], fn + " argument 'k'", 0, INT32_MAX);
  g.transA = BoolArg(env, info[7], "transposeA");
  g.transB = BoolArg(env, info[8], "transposeB");
  g.aIndex = IndexArg(env, info[9], "aIndex", g.batch);
  g.bIndex = IndexArg(env, info[10], "bIndex", g.batch);
  F32Arg(env, info[11], "bias", true, &g.bias, &g.biasLen);
  Napi::Value act = info[12];
  if (act.IsUndefined() || act.IsNull()) {
    g.act = Activation::Linear;
  } else {
    if (!act.IsString()) ThrowType(env, "an activation name", fn + " argument 'activation'", Describe(act));
    if (!ParseActivation(act.As<Napi::String>().Utf8Value().c_str(), &g.act))
      ThrowRange(env, "one of 'linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'",
                 fn + " argument 'activation'", Describe(act));
  }
  if (!info[13].IsUndefined() && !info[13].IsNull()) {
    if (!info[13].IsNumber()) ThrowType(env, "a number", fn + " argument 'leakyreluAlpha'", Describe(info[13]));
    g.alpha = info[13].As<Napi::Number>().FloatValue();
  }
  F32Arg(env, info[14], "preluWeights", true, &g.prelu, &g.preluLen);
  // The output must not alias a or b: BLAS would read what it is overwriting.
  auto overlaps = [](const float* p, int64_t pl, const float* q, int64_t ql) {
    return p != nullptr && q != nullptr && pl > 0 && ql > 0 && p < q + ql && q < p + pl;
  };
  // Nor bias or PReLU weights: the product overwrites them before the epilogue reads them.
  if (overlaps(g.out, g.outLen, g.a, g.aLen) || overlaps(g.out, g.outLen, g.b, g.bLen) ||
      overlaps(g.out, g.outLen, g.bias, g.biasLen) || overlaps(g.out, g.outLen, g.prelu, g.preluLen))
    ThrowRange(env, "an output buffer that overlaps no input", fn + " argument 'out'", Describe(info[2]));
  // threadedMinFlops (optional, > 0): products of at least this many flops use the BLAS threads
  // when the gate is idle, and run single-threaded at once otherwise (opportunistic, never
  // waiting for analysis work to drain). 0 or absent: the gate's default rule below.
  double threadedMin = 0;
  if (!info[15].IsUndefined() && !info[15].IsNull()) {
    if (!info[15].IsNumber()) ThrowType(env, "a number", fn + " argument 'threadedMinFlops'", Describe(info[15]));
    threadedMin = info[15].As<Napi::Number>().DoubleValue();
    if (!(threadedMin >= 0))
      ThrowRange(env, "a non-negative number", fn + " argument 'threadedMinFlops'", Describe(info[15]));
  }
  // split (optional boolean): the product in two halves, the calling thread's and specdyn's helper
  // thread's, each single-threaded, inside a small gate scope (never waiting for other work and
  // never changing the BLAS thread count); only while the configured threads and the caller's
  // thread limit allow two.
  AddonData* data = env.GetInstanceData<AddonData>();
  if (!info[16].IsUndefined() && !info[16].IsNull()) {
    g.split =
        BoolArg(env, info[16], "split") && ConfiguredThreads() > 1 && (data->threadLimit <= 0 || data->threadLimit > 1);
    if (g.split) threadedMin = std::numeric_limits<double>::infinity();
  }
  Status s;
  {
    // Through the BLAS gate like every other native operation: by default a product of >= 1e8
    // flops waits for analysis calls to drain and runs alone with the configured threads;
    // smaller ones run single-threaded beside small analysis calls. This can block the JS thread
    // while a large analysis call holds the gate (tfjs kernels are synchronous). The caller's
    // thread limit (setThreadLimit) caps either way.
    BlasScope scope(2.0 * double(g.batch) * double(g.m) * double(g.n) * double(g.k), nullptr, data->threadLimit,
                    threadedMin);
    s = SgemmBatch(g);
  }
  if (!s.ok()) throw Napi::Error(env, MakeError(env, s));
  return env.Undefined();
}

Napi::Float32Array OutArg(Napi::Env env, Napi::Value v, const std::string& fn) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    ThrowType(env, "a Float32Array", fn + " argument 'out'", Describe(v));
  return v.As<Napi::Float32Array>();
}

Napi::Float32Array InArg(Napi::Env env, Napi::Value v, const std::string& fn, const char* name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    ThrowType(env, "a Float32Array", fn + " argument '" + name + "'", Describe(v));
  return v.As<Napi::Float32Array>();
}

std::string OpName(Napi::Env env, Napi::Value v, const std::string& fn) {
  if (!v.IsString()) ThrowType(env, "a kernel name", fn + " argument 'op'", Describe(v));
  return v.As<Napi::String>().Utf8Value();
}

void ThrowIfAliased(Napi::Env env, Napi::Float32Array out, Napi::Float32Array in, const std::string& fn,
                    const char* name) {
  const float* o = out.Data();
  const float* p = in.Data();
  const size_t on = out.ElementLength(), pn = in.ElementLength();
  // In place only element for element: the same start and the same length.
  if (on > 0 && pn > 0 && o < p + pn && p < o + on && !(o == p && on == pn))
    ThrowRange(env, "an output that is either " + std::string(name) + " itself or disjoint from it",
               fn + " argument 'out'", Describe(out));
}

// binaryF32(op, a, b, out, shape, aStrides, bStrides): op is a tfjs kernel name (Add, Sub,
// Multiply, RealDiv, Maximum, Minimum, SquaredDifference); shape/strides are Int32Arrays of the
// output rank, or all null for same-length / scalar operands.
Napi::Value BinaryF32Fn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "binaryF32";
  BinaryOp op;
  const std::string name = OpName(env, info[0], fn);
  if (!ParseBinaryOp(name.c_str(), &op))
    ThrowRange(env, "a supported binary kernel name", fn + " argument 'op'", Describe(info[0]));
  auto a = InArg(env, info[1], fn, "a");
  auto b = InArg(env, info[2], fn, "b");
  auto out = OutArg(env, info[3], fn);
  ThrowIfAliased(env, out, a, fn, "a");
  ThrowIfAliased(env, out, b, fn, "b");
  int rank = 0;
  const int32_t* shape = nullptr;
  const int32_t* strides[2] = {nullptr, nullptr};
  if (!info[4].IsNull() && !info[4].IsUndefined()) {
    const char* names[3] = {"shape", "aStrides", "bStrides"};
    const int32_t* ptrs[3];
    size_t len0 = 0;
    for (int i = 0; i < 3; ++i) {
      Napi::Value v = info[4 + i];
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        ThrowType(env, "an Int32Array", fn + " argument '" + names[i] + "'", Describe(v));
      auto arr = v.As<Napi::Int32Array>();
      if (i == 0) len0 = arr.ElementLength();
      if (arr.ElementLength() != len0 || len0 == 0 || len0 > 64)
        ThrowRange(env, "Int32Arrays of one length in [1, 64]", fn + " argument '" + names[i] + "'", Describe(v));
      ptrs[i] = arr.Data();
    }
    rank = int(len0);
    shape = ptrs[0];
    strides[0] = ptrs[1];
    strides[1] = ptrs[2];
    // An operand written in place must be read densely (no broadcast), or later elements would
    // read values already overwritten.
    for (int i = 0; i < 2; ++i) {
      if ((i == 0 ? a : b).Data() != out.Data()) continue;
      int64_t dense = 1;
      for (int d = rank - 1; d >= 0; --d) {
        if (shape[d] > 1 && strides[i][d] != dense)
          ThrowRange(env, "an operand read densely when it is also the output", fn + " argument 'out'",
                     "a broadcast view of the same memory");
        dense *= shape[d];
      }
    }
  }
  Status s = BinaryF32(op, a.Data(), int64_t(a.ElementLength()), b.Data(), int64_t(b.ElementLength()), out.Data(),
                       int64_t(out.ElementLength()), rank, shape, strides[0], strides[1]);
  if (!s.ok()) throw Napi::Error(env, MakeError(env, s));
  return env.Undefined();
}

// unaryF32(op, x, out, alpha): op is a tfjs kernel name (Sqrt, Rsqrt, Square, Neg, Abs, Exp, Log,
// Relu, Relu6, Elu, Sigmoid, Tanh, Step, Reciprocal); alpha is Step's value at x <= 0.
Napi::Value UnaryF32Fn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "unaryF32";
  UnaryOp op;
  const std::string name = OpName(env, info[0], fn);
  if (!ParseUnaryOp(name.c_str(), &op))
    ThrowRange(env, "a supported unary kernel name", fn + " argument 'op'", Describe(info[0]));
  auto x = InArg(env, info[1], fn, "x");
  auto out = OutArg(env, info[2], fn);
  ThrowIfAliased(env, out, x, fn, "x");
  float alpha = 0.f;
  if (!info[3].IsUndefined() && !info[3].IsNull()) {
    if (!info[3].IsNumber()) ThrowType(env, "a number", fn + " argument 'alpha'", Describe(info[3]));
    alpha = info[3].As<Napi::Number>().FloatValue();
  }
  Status s = UnaryF32(op, x.Data(), int64_t(x.ElementLength()), out.Data(), int64_t(out.ElementLength()), alpha);
  if (!s.ok()) throw Napi::Error(env, MakeError(env, s));
  return env.Undefined();
}

// sumF32(x, out, outer, reduce, inner): x as [outer, reduce, inner] summed over the middle axis.
Napi::Value SumF32Fn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "sumF32";
  auto x = InArg(env, info[0], fn, "x");
  auto out = OutArg(env, info[1], fn);
  ThrowIfAliased(env, out, x, fn, "x");
  if (out.Data() == x.Data() && out.ElementLength() > 0)
    ThrowRange(env, "an output disjoint from x", fn + " argument 'out'", Describe(info[1]));
  const int64_t limit = int64_t(1) << 52;
  int64_t outer = ParseInteger(env, info[2], fn + " argument 'outer'", 0, limit);
  int64_t reduce = ParseInteger(env, info[3], fn + " argument 'reduce'", 0, limit);
  int64_t inner = ParseInteger(env, info[4], fn + " argument 'inner'", 0, limit);
  if (double(outer) * double(reduce) * double(inner) > double(limit))
    ThrowRange(env, "sizes whose product is below 2^52", fn + " arguments", "larger sizes");
  Status s =
      SumF32(x.Data(), int64_t(x.ElementLength()), outer, reduce, inner, out.Data(), int64_t(out.ElementLength()));
  if (!s.ok()) throw Napi::Error(env, MakeError(env, s));
  return env.Undefined();
}

// softmaxF32(x, out, rows, cols): a softmax over each row of x viewed as rows x cols.
Napi::Value SoftmaxF32Fn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "softmaxF32";
  auto x = InArg(env, info[0], fn, "x");
  auto out = OutArg(env, info[1], fn);
  ThrowIfAliased(env, out, x, fn, "x");
  const int64_t limit = int64_t(1) << 52;
  int64_t rows = ParseInteger(env, info[2], fn + " argument 'rows'", 0, limit);
  int64_t cols = ParseInteger(env, info[3], fn + " argument 'cols'", 0, limit);
  if (double(rows) * double(cols) > double(limit))
    ThrowRange(env, "sizes whose product is below 2^52", fn + " arguments", "larger sizes");
  Status s = SoftmaxRowsF32(x.Data(), int64_t(x.ElementLength()), rows, cols, out.Data(), int64_t(out.ElementLength()));
  if (!s.ok()) throw Napi::Error(env, MakeError(env, s));
  return env.Undefined();
}

float FloatArg(Napi::Env env, Napi::Value v, const std::string& name) {
  if (!v.IsNumber()) ThrowType(env, "a number", name, Describe(v));
  return v.As<Napi::Number>().FloatValue();
}

// adamF32(g, m, v, w, mOut, vOut, wOut, beta1, oneMinusBeta1, beta2, oneMinusBeta2, accBeta1,
// accBeta2, epsilon, negLearningRate): one Adam step (fused.h). All seven arrays have one length;
// an output is either disjoint from every input or exactly one of them.
Napi::Value AdamF32Fn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "adamF32";
  const char* names[7] = {"g", "m", "v", "w", "mOut", "vOut", "wOut"};
  Napi::Float32Array arr[7];
  for (int i = 0; i < 7; ++i) arr[i] = InArg(env, info[i], fn, names[i]);
  const size_t n = arr[0].ElementLength();
  for (int i = 1; i < 7; ++i)
    if (arr[i].ElementLength() != n)
      ThrowRange(env, "a Float32Array of length " + std::to_string(n) + " (the length of g)",
                 fn + " argument '" + names[i] + "'", Describe(arr[i]));
  for (int o = 4; o < 7; ++o) {
    for (int i = 0; i < 7; ++i) {
      if (i == o) continue;
      if (i >= 4 && arr[i].Data() == arr[o].Data() && n > 0)
        ThrowRange(env, "outputs distinct from each other", fn + " argument '" + names[o] + "'", Describe(arr[o]));
      ThrowIfAliased(env, arr[o], arr[i], fn, names[i]);
    }
  }
  AdamConsts c;
  float* fields[8] = {&c.beta1,    &c.oneMinusBeta1, &c.beta2,   &c.oneMinusBeta2,
                      &c.accBeta1, &c.accBeta2,      &c.epsilon, &c.negLearningRate};
  const char* cnames[8] = {"beta1",    "oneMinusBeta1", "beta2",   "oneMinusBeta2",
                           "accBeta1", "accBeta2",      "epsilon", "negLearningRate"};
  for (int i = 0; i < 8; ++i) *fields[i] = FloatArg(env, info[7 + i], fn + " argument '" + cnames[i] + "'");
  Status s = AdamUpdateF32(arr[0].Data(), arr[1].Data(), arr[2].Data(), arr[3].Data(), int64_t(n), c, arr[4].Data(),
                           arr[5].Data(), arr[6].Data());
  if (!s.ok()) throw Napi::Error(env, MakeError(env, s));
  return env.Undefined();
}

}  // namespace

void RegisterTfjs(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "sgemmF32", SgemmF32Fn);
  Export(env, exports, "binaryF32", BinaryF32Fn);
  Export(env, exports, "unaryF32", UnaryF32Fn);
  Export(env, exports, "sumF32", SumF32Fn);
  Export(env, exports, "softmaxF32", SoftmaxF32Fn);
  Export(env, exports, "adamF32", AdamF32Fn);
}

}  // namespace specdyn
