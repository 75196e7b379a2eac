// The BLAS gate: how concurrent calls share OpenBLAS without oversubscribing the cores.
//
// OpenBLAS (pthreads build) has one process-wide thread count and one worker pool. Several
// threaded calls at once (e.g. Promise.all over many matrices on the libuv pool) contend for
// that pool and run far slower than in sequence. So every native operation passes this gate:
//   - a large operation (≥ kThreadedMinFlops) runs alone, with the configured thread count;
//   - small operations run side by side, each single-threaded (OpenBLAS set to 1 thread).
// Arrivals are served in order: a small operation waits only for large ones that arrived before
// it, large ones run one at a time in arrival order (neither kind starves the other).
#pragma once

#include <cstdint>

namespace specdyn {

// Work (in flops) above which one call is worth all the BLAS threads.
constexpr double kThreadedMinFlops = 1e8;

// The thread count the user configured (setThreads / OPENBLAS_NUM_THREADS at load).
int ConfiguredThreads();
void SetConfiguredThreads(int n);

// RAII passage through the gate for an operation of about `flops` work. With a cancel flag
// (slot 0 of a control block, operators.h Control), a wait at the gate ends as soon as the flag
// is set: the scope is then not entered (entered() false) and the operation must not run.
// `limit` > 0 caps the operation's threads below the configured count (the caller's thread
// limit, setThreadLimit): with limit 1 a large operation runs as a small one, single-threaded
// beside the others, instead of alone.
// `threadedMin` > 0 replaces kThreadedMinFlops for this call and makes it opportunistic: at or
// above it the operation runs threaded only if the gate is idle (nothing running or waiting),
// and otherwise at once as a small single-threaded one; it never waits for other work to drain.
// For short operations issued in a stream on the JS thread (the tfjs backend's products).
class BlasScope {
 public:
  explicit BlasScope(double flops, const int32_t* cancel = nullptr, int limit = 0, double threadedMin = 0);
  ~BlasScope();
  BlasScope(const BlasScope&) = delete;
  BlasScope& operator=(const BlasScope&) = delete;
  bool threaded() const { return threaded_; }
  bool entered() const { return entered_; }

 private:
  int threads_;
  bool threaded_;
  bool entered_ = false;
  const BlasScope* outer_ = nullptr;  // the calling thread's scope before this one
  friend class BlasSplit;
};

// Splitting a threaded operation into single-threaded BLAS calls on the caller's own threads.
// Inside a threaded (exclusive) scope held by the calling thread, nothing else runs BLAS, so the
// BLAS may be set to one thread for a while and the scope's threads used for calls side by side
// (each one single-threaded, as small operations run); the destructor restores the scope's
// count before the scope can end, so the gate's record of what it applied stays true. Outside
// such a scope (a small operation, or no scope at all) nothing changes and threads() is 1.
class BlasSplit {
 public:
  BlasSplit();
  ~BlasSplit();
  BlasSplit(const BlasSplit&) = delete;
  BlasSplit& operator=(const BlasSplit&) = delete;
  // The threads to run single-threaded BLAS calls on (1: only the calling thread).
  int threads() const { return threads_; }

 private:
  int threads_ = 1;
  int restore_ = 0;  // the scope's count, given back to the BLAS on destruction (0: nothing to do)
};

}  // namespace specdyn
