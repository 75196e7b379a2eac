// Thread control, build information and the LapackError hook.
#include <cblas.h>
#include <napi.h>

#include <chrono>
#include <vector>

#include "../kernels/blas_gate.h"
#include "../kernels/fault.h"
#include "../kernels/threads.h"
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

Napi::Value GetThreadsFn(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ConfiguredThreads()); }

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

// Lets the JS layer supply its error classes ({ LapackError, AbortError, NoConvergenceError,
// InternalError }) so that native failures arrive as instances of them.
Napi::Value SetErrorClassesFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) ThrowType(env, "an object of error classes", "classes", Describe(info[0]));
  Napi::Object o = info[0].As<Napi::Object>();
  AddonData* data = env.GetInstanceData<AddonData>();
  const std::pair<const char*, Napi::FunctionReference AddonData::*> slots[] = {
      {"LapackError", &AddonData::lapackError},
      {"AbortError", &AddonData::abortError},
      {"NoConvergenceError", &AddonData::noConvergenceError},
      {"InternalError", &AddonData::internalError}};
  for (const auto& [key, member] : slots) {
    Napi::Value c = o.Get(key);
    if (!c.IsFunction()) ThrowType(env, "a constructor", std::string("classes.") + key, Describe(c));
    data->*member = Napi::Persistent(c.As<Napi::Function>());
  }
  return env.Undefined();
}

// Test hook (not public API): arms one C++ exception at the next fault point of the given
// site ('kernel': inside a kernel, on the pool thread for async calls; 'result': allocating a
// result on the main thread) of the given kind ('length_error', 'bad_alloc', 'unknown').
Napi::Value InjectFaultFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const FaultSite site = ParseChoice<FaultSite>(
      env, info[0], "site", {{"none", FaultSite::None}, {"kernel", FaultSite::Kernel}, {"result", FaultSite::Result}});
  const FaultKind kind = info[1].IsUndefined() ? FaultKind::LengthError
                                               : ParseChoice<FaultKind>(env, info[1], "kind",
                                                                        {{"length_error", FaultKind::LengthError},
                                                                         {"bad_alloc", FaultKind::BadAlloc},
                                                                         {"unknown", FaultKind::Unknown}});
  ArmFault(site, kind);
  return env.Undefined();
}

// Benchmark probe: seconds for one n x n x n dgemm at the current thread count, so that the
// benchmark can state a FLOP bound measured in the same run (not part of the public API).
Napi::Value DgemmSecondsFn(const Napi::CallbackInfo& info) {
  const int64_t n = ParseInteger(info.Env(), info[0], "n", 1, 8192);
  std::vector<double> a(size_t(n * n), 1.0 / double(n)), b(size_t(n * n), 0.5), c(size_t(n * n));
  BlasScope scope(2.0 * double(n) * double(n) * double(n));
  auto t0 = std::chrono::steady_clock::now();
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n), int(n), int(n), 1.0, a.data(), int(n), b.data(),
              int(n), 0.0, c.data(), int(n));
  auto t1 = std::chrono::steady_clock::now();
  return Napi::Number::New(info.Env(), std::chrono::duration<double>(t1 - t0).count());
}

}  // namespace

void RegisterInfo(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "setThreads", SetThreadsFn);
  Export(env, exports, "getThreads", GetThreadsFn);
  Export(env, exports, "nativeInfo", InfoFn);
  Export(env, exports, "_dgemmSeconds", DgemmSecondsFn);
  Export(env, exports, "setErrorClasses", SetErrorClassesFn);
  Export(env, exports, "__injectFault", InjectFaultFn);
}

}  // namespace specdyn
