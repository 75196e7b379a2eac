#include "op.h"

#include <cstring>
#include <new>

#include "../kernels/blas_gate.h"
#include "../kernels/memory.h"
#include "args.h"

namespace specdyn {

Op::~Op() {
  for (void* b : pinned_) UnpinExternal(b);
}

void Op::Input(const MatArg& m, MatView* slot) {
  inputs_.push_back({Napi::Persistent(m.data), slot});
}

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
      copies_.push_back(std::make_unique<PooledArray<unsigned char>>(bytes));
      std::memcpy(copies_.back()->get(), data, bytes);
      data = copies_.back()->get();
    }
    v.data = data;
  }
}

namespace {

// Allocation failures inside a kernel become a RangeError instead of a crash.
// Every operation passes the BLAS gate: large ones alone and threaded, small ones side by side.
Status SafeRun(Op& op) {
  try {
    BlasScope scope(op.Flops());
    return op.Run();
  } catch (const std::bad_alloc&) {
    return Status::Range(
        "Expected a problem whose workspace can be allocated for this operation but received "
        "an allocation failure (out of memory)");
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
    } catch (const std::exception&) {
      RejectQuietly(Env().Undefined());
    }
  }
  void OnError(const Napi::Error&) override {
    try {
      deferred_.Reject(MakeError(Env(), status_));
    } catch (...) {
    }
  }

 private:
  void RejectQuietly(Napi::Value reason) {
    try {
      deferred_.Reject(reason);
    } catch (...) {
    }
  }
  std::unique_ptr<Op> op_;
  Napi::Promise::Deferred deferred_;
  Status status_;
};

}  // namespace

Napi::Value Dispatch(Napi::Env env, std::unique_ptr<Op> op, bool async) {
  if (async && op->Tiny()) {
    auto deferred = Napi::Promise::Deferred::New(env);
    try {
      deferred.Resolve(Dispatch(env, std::move(op), false));
    } catch (const Napi::Error& e) {
      deferred.Reject(e.Value());
    }
    return deferred.Promise();
  }
  op->BindInputs(env, async);
  if (async) {
    auto* w = new OpWorker(env, std::move(op));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }
  Status s = SafeRun(*op);
  if (!s.ok()) throw Napi::Error(env, MakeError(env, s));
  return op->Result(env);
}

}  // namespace specdyn
