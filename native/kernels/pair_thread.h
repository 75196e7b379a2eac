// One persistent helper thread of specdyn's own, for running two halves of a short operation side
// by side (the tfjs backend's training products, gemm.h). Unlike OpenBLAS's threads it holds no
// process-wide thread count: each half is an ordinary single-threaded BLAS call, so a split
// product can run beside single-threaded analysis calls (a small BLAS gate scope) without turning
// their inner BLAS calls threaded. Between tasks the helper spins briefly, then sleeps on a
// condition variable (it does not keep a core busy the way OpenBLAS's waiting threads do). It
// starts at the first pair, in normal scheduling (SCHED_OTHER) even if the thread that started
// it was in the idle class; a nice value is inherited.
#pragma once

#include <functional>

namespace specdyn {

// Runs `beside` on the helper thread and `here` on the calling thread, and returns when both have
// finished. When the helper is taken (another thread's pair is running, or the thread could not
// be started) both run here, `here` first: the result is the same, only slower. When the caller
// finishes `here` before the helper has started `beside` (the helper asleep and slow to wake, or
// its core busy with another thread), the caller runs `beside` itself instead of waiting
// ("stolen"). An exception from either is rethrown here once both have finished (the first of
// `here`'s, then `beside`'s).
void RunPair(const std::function<void()>& here, const std::function<void()>& beside);

// How many pairs ran split across the two threads, how many on the caller alone because the
// helper was taken, and how many the caller finished alone because the helper had not started its
// half, since the addon loaded (for tests and benches).
struct PairCounts {
  double split = 0, alone = 0, stolen = 0;
};
PairCounts PairThreadCounts();

// Test hook: while on, the helper takes no half, so every pair's caller runs both (stolen).
void HoldPairThread(bool on);

// Bench hook: off, the caller always waits for the helper's half (the rule before stealing).
void SetPairSteal(bool on);

}  // namespace specdyn
