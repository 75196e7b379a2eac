#include "memory.h"

#include <sys/mman.h>

#include <cstdlib>
#include <map>
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

namespace {

struct External {
  size_t capacity;
  int pins = 0;
  bool released = false;
};

struct Registry {
  std::mutex m;
  std::map<const char*, External> blocks;  // by start address
};

Registry& TheRegistry() {
  static Registry* r = new Registry();  // never destroyed, like the pool
  return *r;
}

}  // namespace

void RegisterExternal(void* data, size_t capacity) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> l(r.m);
  r.blocks[static_cast<const char*>(data)] = External{capacity};
}

void ReleaseExternal(void* data) {
  Registry& r = TheRegistry();
  size_t capacity = 0;
  {
    std::lock_guard<std::mutex> l(r.m);
    auto it = r.blocks.find(static_cast<const char*>(data));
    if (it == r.blocks.end()) return;
    if (it->second.pins > 0) {
      it->second.released = true;
      return;
    }
    capacity = it->second.capacity;
    r.blocks.erase(it);
  }
  ReleaseBlock(data, capacity);
}

void* PinExternal(const void* ptr, size_t bytes) {
  Registry& r = TheRegistry();
  const char* p = static_cast<const char*>(ptr);
  std::lock_guard<std::mutex> l(r.m);
  auto it = r.blocks.upper_bound(p);
  if (it == r.blocks.begin()) return nullptr;
  --it;
  if (it->second.released || p + bytes > it->first + it->second.capacity) return nullptr;
  ++it->second.pins;
  return const_cast<char*>(it->first);
}

void UnpinExternal(void* block) {
  Registry& r = TheRegistry();
  size_t capacity = 0;
  {
    std::lock_guard<std::mutex> l(r.m);
    auto it = r.blocks.find(static_cast<const char*>(block));
    if (it == r.blocks.end() || --it->second.pins > 0 || !it->second.released) return;
    capacity = it->second.capacity;
    r.blocks.erase(it);
  }
  ReleaseBlock(block, capacity);
}

}  // namespace specdyn
