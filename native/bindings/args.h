// Argument conversion for the N-API glue: JS values in, plain C++ (specdyn::MatView etc.) out.
// Every check throws a TypeError or RangeError whose message reads
// "Expected <what> for <name> but received <value>".
#pragma once
#include <napi.h>

#include <string>

#include "../kernels/kernels.h"

namespace specdyn {

// Instance data, one per environment (main thread and each worker_thread).
struct AddonData {
  Napi::FunctionReference lapackError;  // set by setErrorClass(); plain Error until then
};

// A short description of a JS value for error messages: "undefined", "3.5", "'abc'",
// "Array(3)", "Int32Array(9)", "an object".
std::string Describe(Napi::Value v);

[[noreturn]] void ThrowType(Napi::Env env, const std::string& what, const std::string& name,
                            const std::string& received);
[[noreturn]] void ThrowRange(Napi::Env env, const std::string& what, const std::string& name,
                             const std::string& received);

// The JS error for a kernel Status (RangeError, TypeError or LapackError).
Napi::Value MakeError(Napi::Env env, const Status& s);

// A Mat argument { data: Float64Array | Float32Array, rows, cols }, read in place.
struct MatArg {
  MatView view;
  Napi::Object data;  // the typed array, to pin while an async call runs
};
MatArg ParseMat(Napi::Env env, Napi::Value v, const std::string& name);
void RequireSquare(Napi::Env env, const MatArg& m);

// Options object (undefined allowed).
Napi::Object ParseOptions(Napi::Env env, Napi::Value v, const std::string& name);
Precision ParsePrecision(Napi::Env env, Napi::Object opts, const std::string& fn);
double ParseNonNegative(Napi::Env env, Napi::Value v, const std::string& name, double fallback);
// opts[key], named "<fn> option '<key>'".
double ParseNonNegative(Napi::Env env, Napi::Object opts, const char* key, const std::string& fn,
                        double fallback);
int64_t ParseInteger(Napi::Env env, Napi::Value v, const std::string& name, int64_t lo,
                     int64_t hi);

// Refuses a problem whose memory (outputs + workspace, bytes) would not fit, before allocating.
void CheckFits(Napi::Env env, double bytes, double lworkElems, const MatArg& m);

// A new Float64Array of n elements (after CheckFits).
Napi::Float64Array NewResult(Napi::Env env, int64_t n);

// { data, rows, cols } for a result.
Napi::Object MatObject(Napi::Env env, Napi::Float64Array data, int64_t rows, int64_t cols);

// The trailing `async` flag of every binding (argument i).
inline bool IsAsync(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].ToBoolean().Value();
}

// Default symmetry tolerance: round-off of a float64 or float32 product, with head-room.
inline double DefaultSymTol(const MatView& v) { return v.f32 ? 1e-5 : 1e-10; }

}  // namespace specdyn
