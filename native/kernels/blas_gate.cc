#include "blas_gate.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>

#include "threads.h"

namespace specdyn {
namespace {

// Arrivals take tickets. Large operations go one at a time in ticket order; a small operation
// waits only for large ones that arrived before it, so neither kind can starve the other.
struct Gate {
  std::mutex m;
  std::condition_variable cv;
  int shared = 0;          // small operations running
  bool exclusive = false;  // a large operation running
  uint64_t nextTicket = 0;
  std::deque<uint64_t> waitingLarge;  // tickets of waiting large operations, ascending
  int applied = -1;                   // thread count last given to the BLAS (threads.cc)
  // openblas_set_num_threads is not free (~0.1 ms): call it only on a change.
  void Apply(int n) {
    if (n != applied) {
      SetBlasThreads(n);
      applied = n;
    }
  }
};

Gate& TheGate() {
  static Gate g;
  return g;
}

// The scope the calling thread holds (the innermost one), for BlasSplit.
thread_local const BlasScope* tScope = nullptr;

std::atomic<int>& Configured() {
  static std::atomic<int> n{BlasThreads()};
  return n;
}

}  // namespace

int ConfiguredThreads() { return Configured().load(); }

void SetConfiguredThreads(int n) {
  Configured().store(n);
  Gate& g = TheGate();
  std::lock_guard<std::mutex> l(g.m);
  // Apply now when nothing runs; otherwise the next operation through the gate applies it.
  if (!g.exclusive && g.shared == 0) g.Apply(n);
}

BlasScope::BlasScope(double flops, const int32_t* cancel, int limit, double threadedMin)
    : threads_(limit > 0 ? std::min(ConfiguredThreads(), limit) : ConfiguredThreads()),
      threaded_(threads_ > 1 && flops >= (threadedMin > 0 ? threadedMin : kThreadedMinFlops)) {
  Gate& g = TheGate();
  std::unique_lock<std::mutex> l(g.m);
  // Opportunistic: threaded only when the gate is idle, else small (never waits for a drain).
  if (threaded_ && threadedMin > 0 && (g.exclusive || g.shared > 0 || !g.waitingLarge.empty())) threaded_ = false;
  const uint64_t ticket = g.nextTicket++;
  const auto cancelled = [&] { return cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED) != 0; };
  // Waits for `ready`; with a cancel flag, in short slices that look at the flag in between.
  const auto wait = [&](auto ready) {
    if (!cancel) {
      g.cv.wait(l, ready);
      return true;
    }
    while (!ready()) {
      if (cancelled()) return false;
      g.cv.wait_for(l, std::chrono::milliseconds(2));
    }
    return true;
  };
  if (threaded_) {
    g.waitingLarge.push_back(ticket);
    if (!wait([&] { return !g.exclusive && g.shared == 0 && g.waitingLarge.front() == ticket; })) {
      g.waitingLarge.erase(std::find(g.waitingLarge.begin(), g.waitingLarge.end(), ticket));
      l.unlock();
      g.cv.notify_all();  // the ticket behind this one may now go
      return;
    }
    g.waitingLarge.pop_front();
    g.exclusive = true;
    g.Apply(threads_);
  } else {
    if (!wait([&] { return !g.exclusive && (g.waitingLarge.empty() || g.waitingLarge.front() > ticket); })) return;
    if (g.shared++ == 0) g.Apply(1);
  }
  entered_ = true;
  outer_ = tScope;
  tScope = this;
}

BlasScope::~BlasScope() {
  if (!entered_) return;
  tScope = outer_;
  Gate& g = TheGate();
  {
    std::lock_guard<std::mutex> l(g.m);
    if (threaded_)
      g.exclusive = false;
    else
      --g.shared;
  }
  g.cv.notify_all();
}

BlasSplit::BlasSplit() {
  const BlasScope* s = tScope;
  if (!s || !s->threaded_ || s->threads_ < 2) return;
  threads_ = std::min(s->threads_, HardwareThreads());
  if (threads_ < 2) {
    threads_ = 1;
    return;
  }
  // Exclusive: no other operation is inside the gate, and none can apply a count until this
  // scope ends (SetConfiguredThreads applies only when the gate is idle).
  restore_ = s->threads_;
  SetBlasThreads(1);
}

BlasSplit::~BlasSplit() {
  if (restore_ > 0) SetBlasThreads(restore_);
}

}  // namespace specdyn
