#include "args.h"

#include "../kernels/memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include <climits>
#include <cmath>
#include <cstdio>

namespace specdyn {

static const char* TypedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: break;
  }
  return "TypedArray";
}

std::string Describe(Napi::Value v) {
  char buf[96];
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return v.As<Napi::Boolean>().Value() ? "true" : "false";
    case napi_number: {
      double d = v.As<Napi::Number>().DoubleValue();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      std::snprintf(buf, sizeof buf, "%.17g", d);
      return buf;
    }
    case napi_string: {
      std::string s = v.As<Napi::String>().Utf8Value();
      if (s.size() > 40) s = s.substr(0, 40) + "...";
      return "'" + s + "'";
    }
    case napi_bigint: return "a bigint";
    case napi_symbol: return "a symbol";
    case napi_function: return "a function";
    default: break;
  }
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    std::snprintf(buf, sizeof buf, "%s(%zu)", TypedArrayName(ta.TypedArrayType()),
                  ta.ElementLength());
    return buf;
  }
  if (v.IsArray()) {
    std::snprintf(buf, sizeof buf, "Array(%u)", v.As<Napi::Array>().Length());
    return buf;
  }
  if (v.IsArrayBuffer()) return "an ArrayBuffer";
  return "an object";
}

void ThrowType(Napi::Env env, const std::string& what, const std::string& name,
               const std::string& received) {
  throw Napi::TypeError::New(env, "Expected " + what + " for " + name + " but received " +
                                      received);
}

void ThrowRange(Napi::Env env, const std::string& what, const std::string& name,
                const std::string& received) {
  throw Napi::RangeError::New(env, "Expected " + what + " for " + name + " but received " +
                                       received);
}

Napi::Value MakeError(Napi::Env env, const Status& s) {
  switch (s.kind) {
    case ErrKind::Type: return Napi::TypeError::New(env, s.message).Value();
    case ErrKind::Lapack: {
      AddonData* data = env.GetInstanceData<AddonData>();
      if (data && !data->lapackError.IsEmpty()) {
        return data->lapackError.New({Napi::String::New(env, s.message),
                                      Napi::String::New(env, s.routine),
                                      Napi::Number::New(env, s.info)});
      }
      Napi::Error e = Napi::Error::New(env, s.message);
      e.Set("routine", Napi::String::New(env, s.routine));
      e.Set("info", Napi::Number::New(env, s.info));
      return e.Value();
    }
    default: return Napi::RangeError::New(env, s.message).Value();
  }
}

int64_t ParseInteger(Napi::Env env, Napi::Value v, const std::string& name, int64_t lo,
                     int64_t hi) {
  char what[96];
  std::snprintf(what, sizeof what, "an integer in [%lld, %lld]", static_cast<long long>(lo),
                static_cast<long long>(hi));
  if (!v.IsNumber()) ThrowType(env, what, name, Describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d == std::floor(d)) || d < double(lo) || d > double(hi))
    ThrowRange(env, what, name, Describe(v));
  return static_cast<int64_t>(d);
}

MatArg ParseMat(Napi::Env env, Napi::Value v, const std::string& name) {
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray())
    ThrowType(env, "a Mat { data, rows, cols }", name, Describe(v));
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value data = o.Get("data");
  if (!data.IsTypedArray()) ThrowType(env, "a Float64Array or Float32Array", name + ".data", Describe(data));
  auto ta = data.As<Napi::TypedArray>();
  const auto type = ta.TypedArrayType();
  if (type != napi_float64_array && type != napi_float32_array)
    ThrowType(env, "a Float64Array or Float32Array", name + ".data", Describe(data));
  MatArg m;
  m.data = data.As<Napi::Object>();
  m.view.name = name;
  m.view.f32 = type == napi_float32_array;
  m.view.rows = ParseInteger(env, o.Get("rows"), name + ".rows", 1, INT32_MAX);
  m.view.cols = ParseInteger(env, o.Get("cols"), name + ".cols", 1, INT32_MAX);
  const int64_t len = static_cast<int64_t>(ta.ElementLength());
  if (len != m.view.rows * m.view.cols) {
    char what[128], got[64];
    std::snprintf(what, sizeof what, "length %lld (rows %lld x cols %lld)",
                  static_cast<long long>(m.view.rows * m.view.cols),
                  static_cast<long long>(m.view.rows), static_cast<long long>(m.view.cols));
    std::snprintf(got, sizeof got, "length %lld", static_cast<long long>(len));
    ThrowRange(env, what, name + ".data", got);
  }
  // TypedArrayOf<T>::Data() honours the byte offset of subarray() views.
  m.view.data = m.view.f32 ? static_cast<const void*>(data.As<Napi::Float32Array>().Data())
                           : static_cast<const void*>(data.As<Napi::Float64Array>().Data());
  return m;
}

void RequireSquare(Napi::Env env, const MatArg& m) {
  if (m.view.rows != m.view.cols) {
    char got[64];
    std::snprintf(got, sizeof got, "%lld x %lld", static_cast<long long>(m.view.rows),
                  static_cast<long long>(m.view.cols));
    ThrowRange(env, "a square matrix", m.view.name, got);
  }
}

Napi::Object ParseOptions(Napi::Env env, Napi::Value v, const std::string& name) {
  if (v.IsUndefined() || v.IsNull()) return Napi::Object::New(env);
  if (!v.IsObject() || v.IsArray()) ThrowType(env, "an options object", name, Describe(v));
  return v.As<Napi::Object>();
}

Precision ParsePrecision(Napi::Env env, Napi::Object opts, const std::string& fn) {
  Napi::Value p = opts.Get("precision");
  if (p.IsUndefined()) return Precision::F64;
  const std::string name = fn + " option 'precision'";
  if (!p.IsString()) ThrowType(env, "'float64' or 'float32'", name, Describe(p));
  std::string s = p.As<Napi::String>().Utf8Value();
  if (s == "float64") return Precision::F64;
  if (s == "float32") return Precision::F32;
  ThrowRange(env, "'float64' or 'float32'", name, Describe(p));
}

double ParseNonNegative(Napi::Env env, Napi::Value v, const std::string& name, double fallback) {
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) ThrowType(env, "a non-negative number", name, Describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || std::isinf(d)) ThrowRange(env, "a non-negative number", name, Describe(v));
  return d;
}

double ParseNonNegative(Napi::Env env, Napi::Object opts, const char* key, const std::string& fn,
                        double fallback) {
  return ParseNonNegative(env, opts.Get(key), fn + " option '" + key + "'", fallback);
}

static double PhysicalMemoryBytes() {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return (pages > 0 && size > 0) ? double(pages) * double(size) : 8.0 * (1ull << 30);
}

void CheckFits(Napi::Env env, double bytes, double lworkElems, const MatArg& m) {
  const double limit = PhysicalMemoryBytes();
  char got[160];
  if (bytes > limit) {
    std::snprintf(got, sizeof got, "a %lld x %lld matrix needing %.1f GiB",
                  static_cast<long long>(m.view.rows), static_cast<long long>(m.view.cols),
                  bytes / double(1ull << 30));
    char what[96];
    std::snprintf(what, sizeof what, "a problem that fits in memory (%.1f GiB)",
                  limit / double(1ull << 30));
    ThrowRange(env, what, m.view.name, got);
  }
  if (lworkElems > double(INT32_MAX)) {
    std::snprintf(got, sizeof got, "a %lld x %lld matrix needing a workspace of %.3g elements",
                  static_cast<long long>(m.view.rows), static_cast<long long>(m.view.cols),
                  lworkElems);
    ThrowRange(env, "a problem whose LAPACK workspace fits a 32-bit index", m.view.name, got);
  }
}

// Large results come from the kernels' pool of huge-page-backed blocks (kernels/memory.h) and
// are handed to JavaScript as external ArrayBuffers, returned to the pool by their finalizer
// (after garbage collection) and reported to V8 so that collection sees them.
namespace {

struct BlockInfo {
  size_t bytes, capacity;
};

void FinalizeBlock(Napi::Env env, void* data, BlockInfo* info) {
  try {  // may fail while the environment shuts down; the memory is released regardless
    Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(info->bytes));
  } catch (...) {
  }
  ReleaseExternal(data);
  delete info;
}

}  // namespace

Napi::Object MatObject(Napi::Env env, Napi::Float64Array data, int64_t rows, int64_t cols) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("data", data);
  o.Set("rows", Napi::Number::New(env, double(rows)));
  o.Set("cols", Napi::Number::New(env, double(cols)));
  return o;
}

Napi::Float64Array NewResult(Napi::Env env, int64_t n) {
  const size_t bytes = static_cast<size_t>(n) * sizeof(double);
  if (bytes < kPoolMinBytes) return Napi::Float64Array::New(env, static_cast<size_t>(n));
  size_t capacity = 0;
  void* data = AcquireBlock(bytes, &capacity);
  RegisterExternal(data, capacity);
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  auto buffer = Napi::ArrayBuffer::New(env, data, bytes, FinalizeBlock, new BlockInfo{bytes, capacity});
  return Napi::Float64Array::New(env, static_cast<size_t>(n), buffer, 0);
}

}  // namespace specdyn
