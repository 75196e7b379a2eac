// Thread control, build information and the LapackError hook.
#include <cblas.h>
#include <lapacke.h>
#include <napi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#endif

#include "../kernels/blas_gate.h"
#include "../kernels/distance.h"
#include "../kernels/fault.h"
#include "../kernels/harness.h"
#include "../kernels/memory.h"
#include "../kernels/pair_thread.h"
#include "../kernels/threads.h"
#include "args.h"
#include "bindings.h"
#include "op.h"

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

// The calling environment's cap on BLAS threads (0 = none): AddonData::threadLimit.
Napi::Value SetThreadLimitFn(const Napi::CallbackInfo& info) {
  int64_t n = ParseInteger(info.Env(), info[0], "n", 0, 1024);
  info.Env().GetInstanceData<AddonData>()->threadLimit = int(n);
  return info.Env().Undefined();
}

Napi::Value GetThreadLimitFn(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), info.Env().GetInstanceData<AddonData>()->threadLimit);
}

// Moves the calling thread to SCHED_IDLE (Linux): it runs only on a core nothing else at normal
// priority wants. Lowering one's own policy needs no privilege. false where unsupported or refused.
Napi::Value SetThreadIdleFn(const Napi::CallbackInfo& info) {
#ifdef __linux__
  sched_param param{};
  param.sched_priority = 0;
  return Napi::Boolean::New(info.Env(), pthread_setschedparam(pthread_self(), SCHED_IDLE, &param) == 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// The memory pool (kernels/memory.h): released blocks kept for reuse, and the limit.
Napi::Object PoolObject(Napi::Env env) {
  const PoolStats st = GetPoolStats();
  Napi::Object p = Napi::Object::New(env);
  p.Set("bytes", Napi::Number::New(env, double(st.bytes)));
  p.Set("blocks", Napi::Number::New(env, double(st.blocks)));
  p.Set("limit", Napi::Number::New(env, double(st.limit)));
  p.Set("minBlockBytes", Napi::Number::New(env, double(kPoolMinBytes)));
  return p;
}

Napi::Value InfoFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("blas", Napi::String::New(env, BlasConfig()));
  o.Set("core", Napi::String::New(env, BlasCore()));
  o.Set("blasVendor", Napi::String::New(env, BlasVendor()));
  o.Set("blasThreads", Napi::Number::New(env, BlasThreads()));
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
  o.Set("pool", PoolObject(env));
  return o;
}

// Releases every block the memory pool keeps for reuse; returns the bytes freed.
Napi::Value TrimPoolFn(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(TrimPool())); }

// Sets the most bytes the pool keeps (0: none); returns the bytes freed to meet it now.
Napi::Value SetPoolLimitFn(const Napi::CallbackInfo& info) {
  const int64_t bytes = ParseInteger(info.Env(), info[0], "bytes", 0, (int64_t(1) << 53) - 1);
  return Napi::Number::New(info.Env(), double(SetPoolLimit(size_t(bytes))));
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
// result on the main thread) of the given kind ('length_error', 'bad_alloc', 'unknown'); site
// 'stemr': the next ?stemr of eighVectors counts as failed (its fallback runs; no exception).
Napi::Value InjectFaultFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const FaultSite site = ParseChoice<FaultSite>(env, info[0], "site",
                                                {{"none", FaultSite::None},
                                                 {"kernel", FaultSite::Kernel},
                                                 {"result", FaultSite::Result},
                                                 {"stemr", FaultSite::Stemr}});
  const FaultKind kind = info[1].IsUndefined() ? FaultKind::LengthError
                                               : ParseChoice<FaultKind>(env, info[1], "kind",
                                                                        {{"length_error", FaultKind::LengthError},
                                                                         {"bad_alloc", FaultKind::BadAlloc},
                                                                         {"unknown", FaultKind::Unknown}});
  ArmFault(site, kind);
  return env.Undefined();
}

// Test hook (not public API): runs one input of a fuzz target (kernels/harness.h), for the
// regression corpus in fuzz/corpus/; returns { kind: 'ok' | 'refused' | 'bug', what }.
Napi::Value FuzzReplayFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> names(harness::Targets().begin(), harness::Targets().end());
  if (!info[0].IsString()) ThrowType(env, DescribeChoices(names), "target", Describe(info[0]));
  const std::string target = info[0].As<Napi::String>().Utf8Value();
  if (std::find(names.begin(), names.end(), target) == names.end())
    ThrowRange(env, DescribeChoices(names), "target", Describe(info[0]));
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    ThrowType(env, "a Uint8Array", "input", Describe(info[1]));
  auto bytes = info[1].As<Napi::Uint8Array>();
  const std::vector<uint8_t> copy(bytes.Data(), bytes.Data() + bytes.ElementLength());
  const harness::Outcome o = harness::Run(target, copy.data(), copy.size());
  Napi::Object r = Napi::Object::New(env);
  const char* kinds[] = {"ok", "refused", "bug"};
  r.Set("kind", Napi::String::New(env, kinds[o.kind]));
  r.Set("what", Napi::String::New(env, o.what));
  return r;
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

// Benchmark probe: seconds for one bare ?syrk of x (its own element type: ssyrk for float32,
// dsyrk for float64; upper triangle only) into a pooled n x n buffer, at the current thread
// count: the figure the distance kernel is measured against (not part of the public API).
Napi::Value SyrkSecondsFn(const Napi::CallbackInfo& info) {
  MatArg x = ParseMat(info.Env(), info[0], "x");
  const int n = int(x.view.rows), d = int(x.view.cols);
  BlasScope scope(double(n) * double(n) * double(d));
  double seconds = 0;
  // One buffer kept for the probe's lifetime, so that every call writes warm memory (a pooled
  // block could be handed to a result in between and the next call would fault fresh pages).
  static std::vector<double> buffer;
  if (buffer.size() < size_t(n) * size_t(n)) buffer.assign(size_t(n) * size_t(n), 0.0);
  if (x.view.f32) {
    float* c = reinterpret_cast<float*>(buffer.data());
    auto t0 = std::chrono::steady_clock::now();
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, 1.0f, static_cast<const float*>(x.view.data), d, 0.0f, c,
                n);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } else {
    double* c = buffer.data();
    auto t0 = std::chrono::steady_clock::now();
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, 1.0, static_cast<const double*>(x.view.data), d, 0.0, c,
                n);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return Napi::Number::New(info.Env(), seconds);
}

// Benchmark probe: seconds for one bare LAPACK symmetric eigensolver call on a copy of the
// float64 matrix a (the copy is not timed): driver 'syevd', 'syevr', 'syev' or 'syevd_2stage'
// (values only), vectors or not. The matrix and the workspaces come from the memory pool, as
// the kernels' do (huge-page-backed: a malloc'd 32 MB matrix made ?sytrd measurably slower), so
// that drivers are compared as specdyn would run them (not part of the public API).
Napi::Value EigSecondsFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MatArg a = ParseMat(env, info[0], "a");
  RequireSquare(env, a);
  if (a.view.f32) ThrowType(env, "a float64 matrix", "a", "a float32 matrix");
  enum class D { Syevd, Syevr, Syev, Syevd2 };
  const D drv =
      ParseChoice<D>(env, info[1], "driver",
                     {{"syevd", D::Syevd}, {"syevr", D::Syevr}, {"syev", D::Syev}, {"syevd_2stage", D::Syevd2}});
  const bool vectors = info[2].ToBoolean();
  const char jobz = vectors ? 'V' : 'N';
  const lapack_int n = lapack_int(a.view.rows);
  const size_t nn = size_t(n) * size_t(n);
  PooledArray<double> abuf{nn}, w{static_cast<size_t>(n)}, z{vectors && drv == D::Syevr ? nn : 1};
  std::memcpy(abuf.get(), a.view.data, nn * sizeof(double));
  std::vector<lapack_int> isuppz(2 * size_t(n));
  // The BLAS gate as eigvalsh/eigh see it (ops.cc: a tenth of the nominal flops).
  BlasScope scope(0.1 * (vectors ? 4.0 : 4.0 / 3.0) * double(n) * double(n) * double(n));
  double wq = 0;
  lapack_int iwq = 0, m = 0, info_ = 0;
  const lapack_int ldz = vectors ? n : 1;
  auto call = [&](double* work, lapack_int lwork, lapack_int* iwork, lapack_int liwork) {
    switch (drv) {
      case D::Syevd:
        return LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, jobz, 'L', n, abuf.get(), n, w.get(), work, lwork, iwork, liwork);
      case D::Syevd2:
        return LAPACKE_dsyevd_2stage_work(LAPACK_COL_MAJOR, jobz, 'L', n, abuf.get(), n, w.get(), work, lwork, iwork,
                                          liwork);
      case D::Syev: return LAPACKE_dsyev_work(LAPACK_COL_MAJOR, jobz, 'L', n, abuf.get(), n, w.get(), work, lwork);
      case D::Syevr:
        return LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, jobz, 'A', 'L', n, abuf.get(), n, 0.0, 0.0, 0, 0, 0.0, &m, w.get(),
                                   z.get(), ldz, isuppz.data(), work, lwork, iwork, liwork);
    }
    return lapack_int(-1);
  };
  info_ = call(&wq, -1, &iwq, -1);
  if (info_ != 0) ThrowRange(env, "a successful LAPACK workspace query", "driver", "info " + std::to_string(info_));
  const lapack_int lwork = lapack_int(wq) + 1, liwork = std::max<lapack_int>(iwq, 1);
  PooledArray<double> work{static_cast<size_t>(lwork)};
  std::vector<lapack_int> iwork(static_cast<size_t>(liwork));
  auto t0 = std::chrono::steady_clock::now();
  info_ = call(work.get(), lwork, iwork.data(), liwork);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (info_ != 0) ThrowRange(env, "a successful LAPACK call", "driver", "info " + std::to_string(info_));
  return Napi::Number::New(env, seconds);
}

}  // namespace

// Test and benchmark hook: how distanceMatrix computes its Gram matrix (kernels/distance.h
// SetDistanceBlock: a panel height, 0 for one ?syrk, −1 for the choice by size; a chunk width,
// 0 or absent for whole panels). Not public API.
Napi::Value SetDistanceBlockFn(const Napi::CallbackInfo& info) {
  const int width = info[1].IsUndefined() ? 0 : int(ParseInteger(info.Env(), info[1], "width", 0, 1 << 30));
  SetDistanceBlock(int(ParseInteger(info.Env(), info[0], "block", -1, 8192)), width);
  return info.Env().Undefined();
}

// _pairThreadCounts() -> { split, alone, stolen }: products (and other pairs) run on the calling
// thread and specdyn's helper thread side by side, those run on the caller alone because the
// helper was taken, and those the caller finished alone because the helper had not started its
// half, since the addon loaded (process-wide). Test and benchmark hook.
Napi::Value PairThreadCountsFn(const Napi::CallbackInfo& info) {
  const PairCounts c = PairThreadCounts();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("split", c.split);
  o.Set("alone", c.alone);
  o.Set("stolen", c.stolen);
  return o;
}

// _holdPairThread(on): while on, the helper takes no half (every pair's caller runs both). Test hook.
Napi::Value HoldPairThreadFn(const Napi::CallbackInfo& info) {
  HoldPairThread(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

// _setPairSteal(on): off, a pair's caller always waits for the helper's half. Bench hook (A/B).
Napi::Value SetPairStealFn(const Napi::CallbackInfo& info) {
  SetPairSteal(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

// machineBusySeconds(): the machine's busy CPU time in seconds from the aggregate line of
// /proc/stat (user, nice, system, irq, softirq and steal; idle and iowait left out), or NaN
// where it cannot be read. For src/machine-load.ts (which may not touch the file system).
Napi::Value MachineBusySecondsFn(const Napi::CallbackInfo& info) {
  double busy = std::numeric_limits<double>::quiet_NaN();
#ifdef __linux__
  if (FILE* f = std::fopen("/proc/stat", "r")) {
    unsigned long long v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const int got = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
                                &v[5], &v[6], &v[7]);
    std::fclose(f);
    const long hz = sysconf(_SC_CLK_TCK);
    if (got >= 4 && hz > 0) busy = double(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / double(hz);
  }
#endif
  return Napi::Number::New(info.Env(), busy);
}

// _lastOpThreaded(): whether the last operation through Dispatch ran threaded at the BLAS gate. Test hook.
Napi::Value LastOpThreadedFn(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), LastOpThreadedFlag().load(std::memory_order_relaxed));
}

void RegisterInfo(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "_lastOpThreaded", LastOpThreadedFn);
  Export(env, exports, "machineBusySeconds", MachineBusySecondsFn);
  Export(env, exports, "_pairThreadCounts", PairThreadCountsFn);
  Export(env, exports, "_holdPairThread", HoldPairThreadFn);
  Export(env, exports, "_setPairSteal", SetPairStealFn);
  Export(env, exports, "setThreads", SetThreadsFn);
  Export(env, exports, "getThreads", GetThreadsFn);
  Export(env, exports, "setThreadLimit", SetThreadLimitFn);
  Export(env, exports, "getThreadLimit", GetThreadLimitFn);
  Export(env, exports, "setThreadIdle", SetThreadIdleFn);
  Export(env, exports, "nativeInfo", InfoFn);
  Export(env, exports, "trimPool", TrimPoolFn);
  Export(env, exports, "setPoolLimit", SetPoolLimitFn);
  Export(env, exports, "_dgemmSeconds", DgemmSecondsFn);
  Export(env, exports, "_syrkSeconds", SyrkSecondsFn);
  Export(env, exports, "_eigSeconds", EigSecondsFn);
  Export(env, exports, "_setDistanceBlock", SetDistanceBlockFn);
  Export(env, exports, "setErrorClasses", SetErrorClassesFn);
  Export(env, exports, "__injectFault", InjectFaultFn);
  Export(env, exports, "__fuzzReplay", FuzzReplayFn);
}

}  // namespace specdyn
