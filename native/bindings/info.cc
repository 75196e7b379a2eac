// Thread control, build information and the LapackError hook.
#include <cblas.h>
#include <napi.h>

#include <chrono>
#include <vector>

#include "../kernels/blas_gate.h"
#include "args.h"
#include "bindings.h"

#ifndef SPECDYN_STATIC_BLAS
#define SPECDYN_STATIC_BLAS 0
#endif

namespace specdyn {
namespace {

Napi::Value SetThreadsFn(const Napi::CallbackInfo& info) {
  int64_t n = ParseInteger(info.Env(), info[0], "n", 1, 1024);
  SetConfiguredThreads(int(n));
  return info.Env().Undefined();
}

Napi::Value GetThreadsFn(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ConfiguredThreads());
}

Napi::Value InfoFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("blas", Napi::String::New(env, BlasConfig()));
  o.Set("core", Napi::String::New(env, BlasCore()));
  o.Set("threads", Napi::Number::New(env, ConfiguredThreads()));
  o.Set("hardwareThreads", Napi::Number::New(env, HardwareThreads()));
#ifdef NDEBUG
  o.Set("buildType", Napi::String::New(env, "Release"));
#else
  o.Set("buildType", Napi::String::New(env, "Debug"));
#endif
  o.Set("staticBlas", Napi::Boolean::New(env, SPECDYN_STATIC_BLAS != 0));
  o.Set("compiler", Napi::String::New(env, __VERSION__));
  o.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  return o;
}

// Lets the JS layer supply its LapackError class so native failures arrive as instances of it.
Napi::Value SetErrorClassFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) ThrowType(env, "a constructor", "errorClass", Describe(info[0]));
  env.GetInstanceData<AddonData>()->lapackError = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

// Benchmark probe: seconds for one n x n x n dgemm at the current thread count, so that the
// benchmark can state a FLOP bound measured in the same run (not part of the public API).
Napi::Value DgemmSecondsFn(const Napi::CallbackInfo& info) {
  const int64_t n = ParseInteger(info.Env(), info[0], "n", 1, 8192);
  std::vector<double> a(size_t(n * n), 1.0 / double(n)), b(size_t(n * n), 0.5), c(size_t(n * n));
  BlasScope scope(2.0 * double(n) * double(n) * double(n));
  auto t0 = std::chrono::steady_clock::now();
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n), int(n), int(n), 1.0, a.data(),
              int(n), b.data(), int(n), 0.0, c.data(), int(n));
  auto t1 = std::chrono::steady_clock::now();
  return Napi::Number::New(info.Env(), std::chrono::duration<double>(t1 - t0).count());
}

}  // namespace

void RegisterInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("setThreads", Napi::Function::New(env, SetThreadsFn, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, GetThreadsFn, "getThreads"));
  exports.Set("nativeInfo", Napi::Function::New(env, InfoFn, "nativeInfo"));
  exports.Set("_dgemmSeconds", Napi::Function::New(env, DgemmSecondsFn, "_dgemmSeconds"));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClassFn, "setErrorClass"));
}

}  // namespace specdyn
