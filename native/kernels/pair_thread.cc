#include "pair_thread.h"

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#endif

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SPECDYN_PAUSE() _mm_pause()
#else
#define SPECDYN_PAUSE() std::this_thread::yield()
#endif

namespace specdyn {
namespace {

// How long each side spins for the other before it sleeps. The helper's spin covers the gap
// between two products of one training step (element-wise kernels in between take 10–100 µs); the
// caller's covers the usual difference between the two halves' times.
constexpr auto kHelperSpin = std::chrono::microseconds(50);
constexpr auto kCallerSpin = std::chrono::microseconds(2000);

// Spins until ready() or `span` has passed (the clock read once per 32 pauses); true if ready.
template <typename Ready>
bool SpinFor(std::chrono::microseconds span, Ready ready) {
  const auto until = std::chrono::steady_clock::now() + span;
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      if (ready()) return true;
      SPECDYN_PAUSE();
    }
    if (std::chrono::steady_clock::now() >= until) return ready();
  }
}

struct Helper {
  std::mutex m;
  std::condition_variable posted_cv, done_cv;
  std::atomic<uint64_t> posted{0}, done{0};
  const std::function<void()>* task = nullptr;  // written by the owner before `posted` moves on
  std::exception_ptr error;                     // the task's, read by the owner after `done`
  std::atomic<bool> owned{false};               // a caller has the helper for one pair
  // The last ticket taken, by the helper or (stolen) by its caller: whoever moves it from
  // ticket − 1 to ticket runs `task` for that ticket, the other leaves it alone.
  std::atomic<uint64_t> claimed{0};
  std::atomic<bool> hold{false};         // test hook: the helper takes no ticket
  std::atomic<bool> steal{true};         // bench hook: false, the caller always waits
  bool started = false, failed = false;  // under m
  // Set by the helper once it has its name and scheduling class (under m): Ready() waits for it,
  // so the first pair already meets the helper as it will stay (and a test reading the thread's
  // class right after the first split product sees it set).
  bool running = false;
  std::condition_variable running_cv;
  std::atomic<uint64_t> split{0}, alone{0}, stolen{0};

  void Loop() {
#ifdef __linux__
    pthread_setname_np(pthread_self(), "specdyn-pair");  // what top -H and perf show
    // Normal scheduling, whatever the starting thread had: a thread in the idle class (an
    // analysis worker's, setThreadIdle) would otherwise hand it on, and training's halves would
    // wait behind every other thread. Leaving SCHED_IDLE needs root or an RLIMIT_NICE that
    // allows nice 0 (sched(7)); where refused, the helper keeps the inherited class.
    sched_param normal{};
    normal.sched_priority = 0;
    pthread_setschedparam(pthread_self(), SCHED_OTHER, &normal);
#endif
    {
      std::lock_guard<std::mutex> l(m);
      running = true;
    }
    running_cv.notify_all();
    uint64_t seen = 0;
    for (;;) {
      if (!SpinFor(kHelperSpin, [&] { return posted.load(std::memory_order_acquire) != seen; })) {
        std::unique_lock<std::mutex> l(m);
        posted_cv.wait(l, [&] { return posted.load(std::memory_order_acquire) != seen; });
      }
      seen = posted.load(std::memory_order_acquire);
      // The caller may have taken this ticket already (it finished its half before this thread
      // got a core): then there is nothing to do, and `task` may no longer be this ticket's.
      uint64_t expect = seen - 1;
      if (hold.load(std::memory_order_relaxed) ||
          !claimed.compare_exchange_strong(expect, seen, std::memory_order_acq_rel))
        continue;
      try {
        (*task)();
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> l(m);
        done.store(seen, std::memory_order_release);
      }
      done_cv.notify_one();
    }
  }

  // Starts the thread on first use (false if it cannot be had). Called by the owner only.
  bool Ready() {
    std::unique_lock<std::mutex> l(m);
    if (!started && !failed) {
      try {
        // Never joined: the thread sleeps on posted_cv when there is no work and ends with the
        // process (the Helper is never destroyed, so no static destructor can meet it running).
        std::thread([this] { Loop(); }).detach();
        started = true;
      } catch (const std::system_error&) {
        failed = true;
      }
      if (started) running_cv.wait(l, [&] { return running; });  // once, at first use
    }
    return started;
  }
};

Helper& TheHelper() {
  static Helper* h = new Helper();  // intentionally never deleted (see Ready)
  return *h;
}

}  // namespace

void RunPair(const std::function<void()>& here, const std::function<void()>& beside) {
  Helper& h = TheHelper();
  const bool taken = h.owned.exchange(true, std::memory_order_acquire);
  if (taken || !h.Ready()) {
    // Taken by another caller, or no thread to be had: both halves on this thread.
    if (!taken) h.owned.store(false, std::memory_order_release);
    h.alone.fetch_add(1, std::memory_order_relaxed);
    here();
    beside();
    return;
  }
  h.error = nullptr;
  h.task = &beside;
  uint64_t ticket;
  {
    std::lock_guard<std::mutex> l(h.m);
    ticket = h.posted.load(std::memory_order_relaxed) + 1;
    h.posted.store(ticket, std::memory_order_release);
  }
  h.posted_cv.notify_one();
  std::exception_ptr mine;
  try {
    here();
  } catch (...) {
    mine = std::current_exception();
  }
  std::exception_ptr theirs;
  uint64_t expect = ticket - 1;
  if (h.steal.load(std::memory_order_relaxed) &&
      h.claimed.compare_exchange_strong(expect, ticket, std::memory_order_acq_rel)) {
    // The helper has not started the other half (asleep, or its core taken by another thread):
    // waiting for it could only be slower than running the half here now.
    try {
      beside();
    } catch (...) {
      theirs = std::current_exception();
    }
    h.stolen.fetch_add(1, std::memory_order_relaxed);
  } else {
    if (!SpinFor(kCallerSpin, [&] { return h.done.load(std::memory_order_acquire) == ticket; })) {
      std::unique_lock<std::mutex> l(h.m);
      h.done_cv.wait(l, [&] { return h.done.load(std::memory_order_acquire) == ticket; });
    }
    theirs = h.error;
    h.split.fetch_add(1, std::memory_order_relaxed);
  }
  h.task = nullptr;
  h.owned.store(false, std::memory_order_release);
  if (mine) std::rethrow_exception(mine);
  if (theirs) std::rethrow_exception(theirs);
}

PairCounts PairThreadCounts() {
  Helper& h = TheHelper();
  return {double(h.split.load(std::memory_order_relaxed)), double(h.alone.load(std::memory_order_relaxed)),
          double(h.stolen.load(std::memory_order_relaxed))};
}

void HoldPairThread(bool on) { TheHelper().hold.store(on, std::memory_order_relaxed); }

void SetPairSteal(bool on) { TheHelper().steal.store(on, std::memory_order_relaxed); }

}  // namespace specdyn
