#include "memory.h"

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace specdyn {
namespace {

struct Pool {
  std::mutex m;
  std::vector<std::pair<size_t, void*>> blocks;  // (capacity, memory)
  size_t bytes = 0;
};

Pool& ThePool() {
  static Pool* p = new Pool();  // never destroyed: releases may come during shutdown
  return *p;
}

}  // namespace

void* AcquireBlock(size_t bytes, size_t* capacity) {
  if (bytes < kPoolMinBytes) {
    *capacity = bytes;
    void* p = std::malloc(bytes == 0 ? 1 : bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  const size_t rounded = (bytes + kPoolMinBytes - 1) / kPoolMinBytes * kPoolMinBytes;
  Pool& pool = ThePool();
  {
    // Best fit among blocks no more than twice the request.
    std::lock_guard<std::mutex> l(pool.m);
    size_t best = pool.blocks.size();
    for (size_t i = 0; i < pool.blocks.size(); ++i) {
      const size_t c = pool.blocks[i].first;
      if (c >= rounded && c <= 2 * rounded && (best == pool.blocks.size() || c < pool.blocks[best].first))
        best = i;
    }
    if (best < pool.blocks.size()) {
      auto b = pool.blocks[best];
      pool.blocks.erase(pool.blocks.begin() + long(best));
      pool.bytes -= b.first;
      *capacity = b.first;
      return b.second;
    }
  }
  void* data = nullptr;
  if (posix_memalign(&data, kPoolMinBytes, rounded) != 0 || data == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  madvise(data, rounded, MADV_HUGEPAGE);
#endif
  *capacity = rounded;
  return data;
}

void ReleaseBlock(void* data, size_t capacity) {
  if (!data) return;
  if (capacity >= kPoolMinBytes) {
    Pool& pool = ThePool();
    std::lock_guard<std::mutex> l(pool.m);
    if (pool.bytes + capacity <= kPoolBytes) {
      pool.blocks.emplace_back(capacity, data);
      pool.bytes += capacity;
      return;
    }
    // Full: drop the oldest block to keep the most recent sizes.
    while (!pool.blocks.empty() && pool.bytes + capacity > kPoolBytes) {
      std::free(pool.blocks.front().second);
      pool.bytes -= pool.blocks.front().first;
      pool.blocks.erase(pool.blocks.begin());
    }
    if (pool.bytes + capacity <= kPoolBytes) {
      pool.blocks.emplace_back(capacity, data);
      pool.bytes += capacity;
      return;
    }
  }
  std::free(data);
}

}  // namespace specdyn
