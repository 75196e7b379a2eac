// Template body of specdyn::ParallelFor (included from kernels.h).
#pragma once
#include <algorithm>
#include <thread>

namespace specdyn {

template <typename F>
void ParallelFor(int64_t n, int threads, F fn) {
  if (n <= 0) return;
  int t = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
  if (t == 1) {
    fn(int64_t(0), n);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(t - 1);
  int64_t chunk = (n + t - 1) / t;
  for (int i = 1; i < t; ++i) {
    int64_t b = i * chunk, e = std::min(n, b + chunk);
    if (b < e) pool.emplace_back([=] { fn(b, e); });
  }
  fn(int64_t(0), std::min(n, chunk));
  for (auto& th : pool) th.join();
}

}  // namespace specdyn
