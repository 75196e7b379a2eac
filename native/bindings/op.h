// One operation = one Op: built on the main thread from already-converted arguments, Run() on
// a libuv pool thread (async) or inline (sync), Result() back on the main thread. Inputs and
// outputs are pinned by persistent references for the whole life of the Op.
#pragma once
#include <napi.h>

#include <memory>
#include <vector>

#include "../kernels/kernels.h"

namespace specdyn {

class Op {
 public:
  virtual ~Op() = default;
  // Pure C++: no N-API calls allowed here.
  virtual Status Run() = 0;
  // Approximate floating-point work, for the BLAS gate (kernels/blas_gate.h). The default
  // treats an operation as large: it runs alone with all the configured BLAS threads.
  virtual double Flops() const { return 1e300; }
  virtual Napi::Value Result(Napi::Env env) = 0;

  void Pin(Napi::Object o) { pins_.push_back(Napi::Persistent(o)); }

 private:
  std::vector<Napi::ObjectReference> pins_;
};

// Runs op now (sync: returns the result or throws) or on the libuv pool (async: returns a
// Promise that resolves to the result or rejects with the error).
Napi::Value Dispatch(Napi::Env env, std::unique_ptr<Op> op, bool async);

}  // namespace specdyn
