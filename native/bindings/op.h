// One operation = one Op: built on the main thread from already-converted arguments, Run() on
// a libuv pool thread (async) or inline (sync), Result() back on the main thread.
//
// Input buffers are bound last. Converting options can run user JavaScript (getters, proxies)
// that could detach or shrink a buffer, so an Op registers its input views with Input() and
// Dispatch binds them after all conversion is done, re-checking each length:
//   - sync calls read the caller's memory in place (no JavaScript runs during the call);
//   - async calls read in place when the buffer is a SharedArrayBuffer (it can be neither
//     detached nor shrunk) or one of specdyn's own results (its memory is pinned for the call:
//     kernels/memory.h); any other buffer is copied once, on the main thread, because a
//     transfer (postMessage, structuredClone) or a resize could otherwise free it mid-call.
// Outputs are fresh arrays no one else can reach until the Promise resolves.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "../kernels/matview.h"
#include "../kernels/memory.h"
#include "../kernels/status.h"
#include "args.h"

namespace specdyn {

struct MatArg;

// Whether the last operation to pass the BLAS gate ran threaded (its scope), process-wide. Test hook.
std::atomic<bool>& LastOpThreadedFlag();

class Op {
 public:
  virtual ~Op();
  // Pure C++: no N-API calls allowed here.
  virtual Status Run() = 0;
  // Approximate floating-point work, for the BLAS gate (kernels/blas_gate.h). The default
  // treats an operation as large: it runs alone with all the configured BLAS threads.
  virtual double Flops() const { return 1e300; }
  // > 0: the operation is threaded opportunistically from this many flops (BlasScope's
  // `threadedMin`: threaded only while the gate is idle, else at once single-threaded); 0: the
  // gate's own rule.
  virtual double ThreadedMin() const { return 0; }
  virtual Napi::Value Result(Napi::Env env) = 0;
  // The JavaScript error for a failed Run() (main thread). The default is MakeError(status);
  // an op whose failure carries partial results (NoConvergence) attaches them here.
  virtual Napi::Value Error(Napi::Env env, const Status& s) { return MakeError(env, s); }
  // The binding's name, for messages about C++ exceptions (set by Dispatch).
  const char* name = "specdyn";
  // The calling environment's BLAS thread cap (AddonData::threadLimit; set by Dispatch).
  int threadLimit = 0;
  // A tiny async operation runs inline and returns a settled Promise: handing it to a pool
  // thread and back costs two thread wake-ups (~80 µs measured on a 2-core VM), more than the
  // work itself (eigvalsh of N = 64 is ~3.5e5 flops, ~0.1 ms).
  virtual bool Tiny() const { return Flops() < 1e6; }
  // The caller's cancel flag (slot 0 of the control block), or null: an operation cancelled
  // while it waits (on the libuv queue or at the BLAS gate) ends without running.
  virtual const int32_t* CancelFlag() const { return nullptr; }

  // Keeps a JS object alive for the life of the Op.
  void Pin(Napi::Object o) { pins_.push_back(Napi::Persistent(o)); }
  // Registers an input whose data pointer Dispatch binds into *slot (see the file comment).
  void Input(const MatArg& m, MatView* slot);
  // Binds every registered input; throws a RangeError if a buffer changed size or was detached.
  void BindInputs(Napi::Env env, bool async);
  // Where BindInputs should put the safety copy of input v (bytes long), or null for a pooled
  // block of its own: an op whose output must start as a copy of its input anyway (LAPACK
  // working in the result) names that output, saving a block and a copy.
  virtual void* CopyTarget(const MatView& v, size_t bytes) {
    (void)v;
    (void)bytes;
    return nullptr;
  }
  // The private copy BindInputs made of the bound input v (an async call on an ordinary
  // ArrayBuffer), which Run() may overwrite; null when v is read in place.
  void* WritableCopy(const MatView& v) const {
    for (const auto& c : copies_)
      if (c->get() == v.data) return c->get();
    return nullptr;
  }

 private:
  struct Bound {
    Napi::ObjectReference array;
    MatView* slot;
  };
  std::vector<Napi::ObjectReference> pins_;
  std::vector<Bound> inputs_;
  std::vector<std::unique_ptr<PooledArray<unsigned char>>> copies_;
  std::vector<void*> pinned_;  // specdyn result blocks read in place
};

// Binds the inputs, then runs op now (sync: returns the result or throws) or on the libuv
// pool (async: returns a Promise that resolves to the result or rejects with the error).
// `fn` names the operation in messages. No C++ exception escapes: one thrown by Run() becomes
// a Status (StatusOfException), one on the main thread a JavaScript error.
Napi::Value Dispatch(Napi::Env env, std::unique_ptr<Op> op, bool async, const char* fn);

}  // namespace specdyn
