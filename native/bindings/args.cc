#include "args.h"

#include "../kernels/fault.h"
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
#include <initializer_list>

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
      return FormatNumber(v.As<Napi::Number>().DoubleValue());
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
    std::snprintf(buf, sizeof buf, "%s(%zu)", TypedArrayName(ta.TypedArrayType()), ta.ElementLength());
    return buf;
  }
  if (v.IsArray()) {
    std::snprintf(buf, sizeof buf, "Array(%u)", v.As<Napi::Array>().Length());
    return buf;
  }
  if (v.IsArrayBuffer()) return "an ArrayBuffer";
  return "an object";
}

void ThrowType(Napi::Env env, const std::string& what, const std::string& name, const std::string& received) {
  throw Napi::TypeError::New(env, "Expected " + what + " for " + name + " but received " + received);
}

void ThrowRange(Napi::Env env, const std::string& what, const std::string& name, const std::string& received) {
  throw Napi::RangeError::New(env, "Expected " + what + " for " + name + " but received " + received);
}

namespace {

// new Class(args...) when the class is registered; otherwise a plain Error of that name.
Napi::Value Construct(Napi::Env env, const Napi::FunctionReference& cls, const char* name, const std::string& message,
                      std::initializer_list<napi_value> rest) {
  if (!cls.IsEmpty()) {
    std::vector<napi_value> args{Napi::String::New(env, message)};
    args.insert(args.end(), rest.begin(), rest.end());
    return cls.New(args);
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("name", Napi::String::New(env, name));
  return e.Value();
}

}  // namespace

Napi::Value MakeError(Napi::Env env, const Status& s, Napi::Object details) {
  AddonData* data = env.GetInstanceData<AddonData>();
  static const Napi::FunctionReference none;
  auto cls = [&](Napi::FunctionReference AddonData::*member) -> const Napi::FunctionReference& {
    return data ? data->*member : none;
  };
  switch (s.kind) {
    case ErrKind::Type: return Napi::TypeError::New(env, s.message).Value();
    case ErrKind::Lapack:
      return Construct(env, cls(&AddonData::lapackError), "LapackError", s.message,
                       {Napi::String::New(env, s.routine), Napi::Number::New(env, s.info)});
    case ErrKind::Aborted: return Construct(env, cls(&AddonData::abortError), "AbortError", s.message, {});
    case ErrKind::NoConvergence: {
      if (details.IsEmpty()) details = Napi::Object::New(env);
      details.Set("routine", Napi::String::New(env, s.routine));
      details.Set("converged", Napi::Number::New(env, s.info));
      return Construct(env, cls(&AddonData::noConvergenceError), "NoConvergenceError", s.message, {details});
    }
    case ErrKind::Internal: return Construct(env, cls(&AddonData::internalError), "InternalError", s.message, {});
    default: return Napi::RangeError::New(env, s.message).Value();
  }
}

Status StatusOfException(const char* where, std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    return Status::Range(std::string("Expected a problem whose memory can be allocated for ") + where +
                         " but received an allocation failure (out of memory)");
  } catch (const std::exception& ex) {
    return Status::Internal(std::string("specdyn internal error in ") + where + ": " + ex.what() +
                            " (please report this as a specdyn bug)");
  } catch (...) {
    return Status::Internal(std::string("specdyn internal error in ") + where +
                            ": an unknown C++ exception (please report this as a specdyn bug)");
  }
}

void Export(Napi::Env env, Napi::Object exports, const char* name, BindingFn fn) {
  auto guarded = [fn, name](const Napi::CallbackInfo& info) -> Napi::Value {
    try {
      return fn(info);
    } catch (const Napi::Error&) {
      throw;
    } catch (...) {
      Status s = StatusOfException(name, std::current_exception());
      throw Napi::Error(info.Env(), MakeError(info.Env(), s));
    }
  };
  exports.Set(name, Napi::Function::New(env, guarded, name));
}

int64_t ParseInteger(Napi::Env env, Napi::Value v, const std::string& name, int64_t lo, int64_t hi) {
  char what[96];
  std::snprintf(what, sizeof what, "an integer in [%lld, %lld]", static_cast<long long>(lo),
                static_cast<long long>(hi));
  if (!v.IsNumber()) ThrowType(env, what, name, Describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d == std::floor(d)) || d < double(lo) || d > double(hi)) ThrowRange(env, what, name, Describe(v));
  return static_cast<int64_t>(d);
}

MatArg ParseMat(Napi::Env env, Napi::Value v, const std::string& name) {
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray()) ThrowType(env, "a Mat { data, rows, cols }", name, Describe(v));
  Napi::Object o = v.As<Napi::Object>();
  if (o.Has("shape") && o.Has("dtype") && o.Get("dataSync").IsFunction()) {
    // A tfjs Tensor (recognised by its shape, dtype and dataSync, without tfjs).
    std::string shape = "[";
    Napi::Value sv = o.Get("shape");
    uint32_t len = sv.IsArray() ? sv.As<Napi::Array>().Length() : 0;
    std::string rows = "rows", cols = "cols";
    for (uint32_t i = 0; i < len; ++i) {
      std::string d = Describe(sv.As<Napi::Array>().Get(i));
      shape += (i ? ", " : "") + d;
      if (len == 2) (i == 0 ? rows : cols) = d;
    }
    shape += "]";
    ThrowType(env, "a Mat { data, rows, cols }", name,
              "a tfjs Tensor of shape " + shape + "; pass { data: t.dataSync(), rows: " + rows + ", cols: " + cols +
                  " } (a 2-D tensor's values, row-major)");
  }
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
                  static_cast<long long>(m.view.rows * m.view.cols), static_cast<long long>(m.view.rows),
                  static_cast<long long>(m.view.cols));
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

std::string DescribeChoices(const std::vector<std::string>& names) {
  std::string out = names.size() > 3 ? "one of " : "";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += (names.size() <= 3 && i + 1 == names.size()) ? " or " : ", ";
    out += "'" + names[i] + "'";
  }
  return out;
}

bool ParseBool(Napi::Env env, Napi::Object opts, const char* key, const std::string& fn, bool fallback) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) ThrowType(env, "a boolean", OptionName(fn, key), Describe(v));
  return v.As<Napi::Boolean>().Value();
}

Precision ParsePrecision(Napi::Env env, Napi::Object opts, const std::string& fn) {
  Napi::Value p = opts.Get("precision");
  if (p.IsUndefined()) return Precision::F64;
  return ParseChoice<Precision>(env, p, OptionName(fn, "precision"),
                                {{"float64", Precision::F64}, {"float32", Precision::F32}});
}

double ParseNonNegative(Napi::Env env, Napi::Value v, const std::string& name, double fallback) {
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) ThrowType(env, "a non-negative number", name, Describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || std::isinf(d)) ThrowRange(env, "a non-negative number", name, Describe(v));
  return d;
}

double ParseNonNegative(Napi::Env env, Napi::Object opts, const char* key, const std::string& fn, double fallback) {
  return ParseNonNegative(env, opts.Get(key), fn + " option '" + key + "'", fallback);
}

void CheckFits(Napi::Env env, double bytes, double lworkElems, const MatArg& m) {
  const char* source = "";
  const double limit = AvailableMemoryBytes(&source);
  char got[160];
  if (bytes > limit) {
    std::snprintf(got, sizeof got, "a %lld x %lld matrix needing %.1f GiB", static_cast<long long>(m.view.rows),
                  static_cast<long long>(m.view.cols), bytes / double(1ull << 30));
    char what[160];
    std::snprintf(what, sizeof what, "a problem that fits in memory (%.1f GiB of %s)", limit / double(1ull << 30),
                  source);
    ThrowRange(env, what, m.view.name, got);
  }
  if (lworkElems > double(INT32_MAX)) {
    std::snprintf(got, sizeof got, "a %lld x %lld matrix needing a workspace of %.3g elements",
                  static_cast<long long>(m.view.rows), static_cast<long long>(m.view.cols), lworkElems);
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
  FaultPoint(FaultSite::Result);
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
