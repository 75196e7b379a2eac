// Argument conversion for the N-API glue: JS values in, plain C++ (specdyn::MatView etc.) out.
// Every check throws a TypeError or RangeError whose message reads
// "Expected <what> for <name> but received <value>".
#pragma once
#include <napi.h>

#include <exception>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "../kernels/matview.h"
#include "../kernels/status.h"

namespace specdyn {

// Instance data, one per environment (main thread and each worker_thread).
struct AddonData {
  // specdyn's JavaScript error classes, set by setErrorClasses(); plain Errors until then.
  Napi::FunctionReference lapackError, abortError, noConvergenceError, internalError;
  // BLAS threads at most for the operations this environment (the main thread or one
  // worker_thread) starts; 0 = no cap beyond the configured count (setThreadLimit).
  int threadLimit = 0;
};

// A short description of a JS value for error messages: "undefined", "3.5", "'abc'",
// "Array(3)", "Int32Array(9)", "an object".
std::string Describe(Napi::Value v);

[[noreturn]] void ThrowType(Napi::Env env, const std::string& what, const std::string& name,
                            const std::string& received);
[[noreturn]] void ThrowRange(Napi::Env env, const std::string& what, const std::string& name,
                             const std::string& received);

// The JS error for a kernel Status (TypeError, RangeError, LapackError, AbortError,
// NoConvergenceError or InternalError). `details` (NoConvergence: the converged pairs) is
// passed to the NoConvergenceError constructor.
Napi::Value MakeError(Napi::Env env, const Status& s, Napi::Object details = Napi::Object());

// The Status of a C++ exception caught in `where` (bad_alloc → RangeError; anything else → an
// internal error that names the exception and asks for a bug report).
Status StatusOfException(const char* where, std::exception_ptr e);

// Registers exports[name] = fn behind a guard: no C++ exception leaves a binding. Napi::Error
// passes through (it becomes the JavaScript exception); std::bad_alloc becomes a RangeError;
// any other exception an InternalError.
using BindingFn = Napi::Value (*)(const Napi::CallbackInfo&);
void Export(Napi::Env env, Napi::Object exports, const char* name, BindingFn fn);

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
double ParseNonNegative(Napi::Env env, Napi::Object opts, const char* key, const std::string& fn, double fallback);
int64_t ParseInteger(Napi::Env env, Napi::Value v, const std::string& name, int64_t lo, int64_t hi);

// "'a' or 'b'", "'a', 'b' or 'c'", and for more than three "one of 'a', 'b', 'c', 'd'" (the
// form src/validate.ts writes too).
std::string DescribeChoices(const std::vector<std::string>& names);

// One of a fixed set of strings mapped to an enum: TypeError for a non-string, RangeError for
// a string not in the set. `hint` is appended to the RangeError's <what> when given.
template <typename E>
E ParseChoice(Napi::Env env, Napi::Value v, const std::string& name,
              std::initializer_list<std::pair<const char*, E>> choices, const char* hint = nullptr) {
  std::vector<std::string> names;
  for (const auto& c : choices) names.push_back(c.first);
  if (v.IsString()) {
    const std::string s = v.As<Napi::String>().Utf8Value();
    for (const auto& c : choices)
      if (s == c.first) return c.second;
  }
  const std::string what = DescribeChoices(names);
  if (!v.IsString()) ThrowType(env, what, name, Describe(v));
  ThrowRange(env, hint ? what + " " + hint : what, name, Describe(v));
}

// opts[key] as a boolean ("<fn> option '<key>'"), `fallback` when undefined; TypeError otherwise.
bool ParseBool(Napi::Env env, Napi::Object opts, const char* key, const std::string& fn, bool fallback);

// "<fn> option '<key>'": how every option is named in messages (TypeScript writes the same).
inline std::string OptionName(const std::string& fn, const char* key) { return fn + " option '" + key + "'"; }

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
