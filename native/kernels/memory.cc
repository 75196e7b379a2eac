#include "memory.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

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
  std::vector<std::pair<size_t, void*>> blocks;  // (capacity, memory), oldest first
  size_t bytes = 0;
  size_t limit = kPoolBytes;
  // Frees the oldest blocks until `keep` more bytes fit under the limit; returns bytes freed.
  size_t Shrink(size_t keep) {
    size_t freed = 0;
    while (!blocks.empty() && bytes + keep > limit) {
      std::free(blocks.front().second);
      bytes -= blocks.front().first;
      freed += blocks.front().first;
      blocks.erase(blocks.begin());
    }
    return freed;
  }
};

Pool& ThePool() {
  static Pool* p = new Pool();  // never destroyed: releases may come during shutdown
  return *p;
}

}  // namespace

namespace {

// A number from a one-line cgroup file; "max" (v2) or an absurd v1 value means no limit.
double ReadLimit(const std::string& path) {
  std::ifstream f(path);
  std::string v;
  if (!(f >> v) || v == "max") return -1;
  const double d = std::strtod(v.c_str(), nullptr);
  return d > 0 && d < 1e18 ? d : -1;
}

// This process's {virtual size, resident size} in bytes (/proc/self/statm), 0 if unknown.
void SelfMemory(double* vsize, double* rss) {
  *vsize = *rss = 0;
  std::ifstream f("/proc/self/statm");
  double pages = 0, res = 0;
  if (f >> pages >> res) {
    const double page = double(sysconf(_SC_PAGE_SIZE));
    *vsize = pages * page;
    *rss = res * page;
  }
}

// The cgroup memory limit of this process (v2 memory.max, else v1 memory.limit_in_bytes),
// looked up at the process's own cgroup path and then at the root of the mount; -1 if none.
double CgroupLimit() {
  // SPECDYN_CGROUP_ROOT replaces the cgroup mount (tests point it at a directory of fake limit
  // files); the process's own cgroup path then is not looked up.
  const char* override = std::getenv("SPECDYN_CGROUP_ROOT");
  const std::string root = override ? override : "/sys/fs/cgroup";
  std::string v2, v1;
  if (!override) {
    std::ifstream f("/proc/self/cgroup");
    std::string line;
    while (std::getline(f, line)) {
      if (line.rfind("0::", 0) == 0) v2 = line.substr(3);
      const size_t m = line.find(":memory:");
      if (m != std::string::npos) v1 = line.substr(m + 8);
    }
  }
  double best = -1;
  auto take = [&](double d) {
    if (d > 0 && (best < 0 || d < best)) best = d;
  };
  take(ReadLimit(root + v2 + "/memory.max"));
  take(ReadLimit(root + "/memory.max"));
  take(ReadLimit(root + "/memory" + v1 + "/memory.limit_in_bytes"));
  take(ReadLimit(root + "/memory/memory.limit_in_bytes"));
  return best;
}

}  // namespace

double AvailableMemoryBytes(const char** source) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  double limit = (pages > 0 && size > 0) ? double(pages) * double(size) : 8.0 * double(1ull << 30);
  const char* what = "physical memory";
  // The cgroup limit is read once per process: reading its files on every call cost ~45 µs, as
  // much as a whole small operation (a 100 x 200 Gram matrix). /proc/self/statm is read only
  // when a limit applies.
  static const double cg = CgroupLimit();
  struct rlimit rl;
  const bool asLimited = getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY;
  double vsize = 0, rss = 0;
  if (asLimited || cg > 0) SelfMemory(&vsize, &rss);
  if (asLimited) {
    const double room = double(rl.rlim_cur) - vsize;
    if (room < limit) {
      limit = room > 0 ? room : 0;
      what = "address space left under RLIMIT_AS (ulimit -v)";
    }
  }
  if (cg > 0 && cg - rss < limit) {
    limit = cg - rss > 0 ? cg - rss : 0;
    what = "memory left under the cgroup limit";
  }
  if (source) *source = what;
  return limit;
}

void* AcquireBlock(size_t bytes, size_t* capacity, Fit fit) {
  if (bytes < kPoolMinBytes) {
    *capacity = bytes;
    void* p = std::malloc(bytes == 0 ? 1 : bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  const size_t rounded = (bytes + kPoolMinBytes - 1) / kPoolMinBytes * kPoolMinBytes;
  Pool& pool = ThePool();
  {
    // Best fit among blocks at most a quarter above the request (Close) or of any larger size (Any).
    std::lock_guard<std::mutex> l(pool.m);
    size_t best = pool.blocks.size();
    for (size_t i = 0; i < pool.blocks.size(); ++i) {
      const size_t c = pool.blocks[i].first;
      if (c >= rounded && (fit == Fit::Any || c <= rounded + rounded / 4) &&
          (best == pool.blocks.size() || c < pool.blocks[best].first))
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
    // Full: drop the oldest blocks to keep the most recent sizes.
    if (capacity <= pool.limit) pool.Shrink(capacity);
    if (pool.bytes + capacity <= pool.limit) {
      pool.blocks.emplace_back(capacity, data);
      pool.bytes += capacity;
      return;
    }
  }
  std::free(data);
}

PoolStats GetPoolStats() {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> l(pool.m);
  PoolStats s;
  s.bytes = pool.bytes;
  s.blocks = pool.blocks.size();
  s.limit = pool.limit;
  return s;
}

size_t TrimPool() {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> l(pool.m);
  size_t freed = 0;
  for (auto& b : pool.blocks) {
    std::free(b.second);
    freed += b.first;
  }
  pool.blocks.clear();
  pool.bytes = 0;
  return freed;
}

size_t SetPoolLimit(size_t bytes) {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> l(pool.m);
  pool.limit = bytes;
  return pool.Shrink(0);
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
