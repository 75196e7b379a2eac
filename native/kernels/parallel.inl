// Template body of specdyn::ParallelFor (included from threads.h).
#pragma once
#include <algorithm>
#include <exception>
#include <system_error>
#include <thread>
#include <vector>

namespace specdyn {

template <typename F>
void ParallelFor(int64_t n, int threads, F fn) {
  if (n <= 0) return;
  const int t = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
  if (t == 1) {
    fn(int64_t(0), n);
    return;
  }
  // No exception may leave a std::thread (that would be std::terminate): each chunk records
  // its first exception, rethrown once every thread has joined.
  std::vector<std::exception_ptr> errors(static_cast<size_t>(t));
  auto run = [&fn, &errors](int i, int64_t b, int64_t e) {
    try {
      fn(b, e);
    } catch (...) {
      errors[static_cast<size_t>(i)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(t - 1));
  const int64_t chunk = (n + t - 1) / t;
  for (int i = 1; i < t; ++i) {
    const int64_t b = i * chunk, e = std::min(n, b + chunk);
    if (b >= e) continue;
    try {
      pool.emplace_back(run, i, b, e);
    } catch (const std::system_error&) {
      run(i, b, e);  // no thread to be had: do the chunk here
    }
  }
  run(0, int64_t(0), std::min(n, chunk));
  for (auto& th : pool) th.join();
  for (auto& err : errors)
    if (err) std::rethrow_exception(err);
}

}  // namespace specdyn
