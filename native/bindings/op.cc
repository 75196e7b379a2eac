#include "op.h"

#include <atomic>
#include <cstring>
#include <new>

#include "../kernels/blas_gate.h"
#include "../kernels/memory.h"
#include "args.h"

namespace specdyn {

std::atomic<bool>& LastOpThreadedFlag() {
  static std::atomic<bool> v{false};
  return v;
}

Op::~Op() {
  for (void* b : pinned_) UnpinExternal(b);
}

void Op::Input(const MatArg& m, MatView* slot) { inputs_.push_back({Napi::Persistent(m.data), slot}); }

void Op::BindInputs(Napi::Env env, bool async) {
  for (auto& in : inputs_) {
    auto ta = in.array.Value().As<Napi::TypedArray>();
    MatView& v = *in.slot;
    const int64_t len = static_cast<int64_t>(ta.ElementLength());
    if (len != v.rows * v.cols) {
      char what[128], got[64];
      std::snprintf(what, sizeof what, "length %lld (rows %lld x cols %lld), unchanged during the call",
                    static_cast<long long>(v.rows * v.cols), static_cast<long long>(v.rows),
                    static_cast<long long>(v.cols));
      std::snprintf(got, sizeof got, "length %lld (detached or resized)", static_cast<long long>(len));
      ThrowRange(env, what, v.name + ".data", got);
    }
    const void* data = v.f32 ? static_cast<const void*>(ta.As<Napi::Float32Array>().Data())
                             : static_cast<const void*>(ta.As<Napi::Float64Array>().Data());
    const bool shared = !ta.ArrayBuffer().IsArrayBuffer();  // a SharedArrayBuffer
    const size_t inBytes = size_t(len) * (v.f32 ? sizeof(float) : sizeof(double));
    void* block = (async && !shared) ? PinExternal(data, inBytes) : nullptr;
    if (block) pinned_.push_back(block);
    if (async && !shared && !block) {
      const size_t bytes = size_t(len) * (v.f32 ? sizeof(float) : sizeof(double));
      void* target = CopyTarget(v, bytes);
      if (!target) {
        copies_.push_back(std::make_unique<PooledArray<unsigned char>>(bytes));
        target = copies_.back()->get();
      }
      std::memcpy(target, data, bytes);
      data = target;
    }
    v.data = data;
  }
}

namespace {

// Every operation passes the BLAS gate: large ones alone and threaded, small ones side by side.
// No exception leaves: allocation failures become a RangeError, any other C++ exception (a
// specdyn bug) an InternalError, instead of std::terminate on a pool thread.
Status SafeRun(Op& op) {
  try {
    const int32_t* cancel = op.CancelFlag();
    if (cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED) != 0) return Status::Aborted();
    BlasScope scope(op.Flops(), cancel, op.threadLimit, op.ThreadedMin());
    if (!scope.entered()) return Status::Aborted();
    LastOpThreadedFlag().store(scope.threaded(), std::memory_order_relaxed);
    return op.Run();
  } catch (...) {
    return StatusOfException(op.name, std::current_exception());
  }
}

class OpWorker : public Napi::AsyncWorker {
 public:
  OpWorker(Napi::Env env, std::unique_ptr<Op> op)
      : Napi::AsyncWorker(env, "specdyn"), op_(std::move(op)), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    status_ = SafeRun(*op_);
    if (!status_.ok()) SetError(status_.message);
  }
  // Nothing may escape these callbacks: an exception here would abort the process (e.g. when
  // a worker_thread is terminated while the call is in flight and N-API calls start failing).
  void OnOK() override {
    try {
      deferred_.Resolve(op_->Result(Env()));
    } catch (const Napi::Error& e) {
      RejectQuietly(e.Value());
    } catch (...) {
      RejectWith(StatusOfException(op_->name, std::current_exception()));
    }
  }
  void OnError(const Napi::Error&) override { RejectWith(status_); }

 private:
  void RejectQuietly(Napi::Value reason) {
    try {
      deferred_.Reject(reason);
    } catch (...) {
    }
  }
  void RejectWith(const Status& s) {
    try {
      deferred_.Reject(op_->Error(Env(), s));
    } catch (...) {  // the environment is going away: nothing is left to reject
    }
  }
  std::unique_ptr<Op> op_;
  Napi::Promise::Deferred deferred_;
  Status status_;
};

}  // namespace

namespace {

// The JavaScript exception for a C++ exception on the main thread.
[[noreturn]] void Rethrow(Napi::Env env, const char* fn, std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw Napi::Error(env, MakeError(env, StatusOfException(fn, std::current_exception())));
  }
}

Napi::Value RunSync(Napi::Env env, Op& op) {
  Status s = SafeRun(op);
  if (!s.ok()) throw Napi::Error(env, op.Error(env, s));
  return op.Result(env);
}

}  // namespace

Napi::Value Dispatch(Napi::Env env, std::unique_ptr<Op> op, bool async, const char* fn) {
  op->name = fn;
  op->threadLimit = env.GetInstanceData<AddonData>()->threadLimit;
  try {
    op->BindInputs(env, async);
  } catch (...) {
    Rethrow(env, fn, std::current_exception());
  }
  if (async && op->Tiny()) {
    auto deferred = Napi::Promise::Deferred::New(env);
    try {
      deferred.Resolve(RunSync(env, *op));
    } catch (const Napi::Error& e) {
      deferred.Reject(e.Value());
    } catch (...) {
      deferred.Reject(MakeError(env, StatusOfException(fn, std::current_exception())));
    }
    return deferred.Promise();
  }
  if (async) {
    auto* w = new OpWorker(env, std::move(op));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }
  try {
    return RunSync(env, *op);
  } catch (...) {
    Rethrow(env, fn, std::current_exception());
  }
}

}  // namespace specdyn
