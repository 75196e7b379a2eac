#include "op.h"

#include <new>

#include "../kernels/blas_gate.h"
#include "args.h"

namespace specdyn {
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
  void OnOK() override { deferred_.Resolve(op_->Result(Env())); }
  void OnError(const Napi::Error&) override { deferred_.Reject(MakeError(Env(), status_)); }

 private:
  std::unique_ptr<Op> op_;
  Napi::Promise::Deferred deferred_;
  Status status_;
};

}  // namespace

Napi::Value Dispatch(Napi::Env env, std::unique_ptr<Op> op, bool async) {
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
