// Large temporary and result buffers from a small process-wide pool of huge-page-backed blocks.
//
// On this class of machine (a VM) every fresh 4 KiB page costs a ~12 µs fault on first touch:
// filling a new 32 MB buffer takes ~100 ms, longer than the O(N²D) work that fills it. Blocks
// here are 2 MiB-aligned and marked for transparent huge pages (512x fewer faults), and released
// blocks are kept (up to the pool limit, kPoolBytes by default, SetPoolLimit) so the next call
// of a similar size reuses mapped memory.
// Small requests bypass the pool. Memory is never zero-filled.
#pragma once
#include <cstddef>
#include <memory>

namespace specdyn {

constexpr size_t kPoolMinBytes = size_t(2) << 20;
constexpr size_t kPoolBytes = size_t(512) << 20;

// The memory one operation may still allocate, in bytes: the least of physical RAM, the
// address space left under RLIMIT_AS (`ulimit -v`) and the room left under the cgroup limit
// (v2 memory.max, v1 memory.limit_in_bytes; the mount is /sys/fs/cgroup, or the directory in
// the environment variable SPECDYN_CGROUP_ROOT). *source names the binding limit for messages.
double AvailableMemoryBytes(const char** source);

// What the pool holds: released blocks kept for reuse (bytes, count) and its limit in bytes.
struct PoolStats {
  size_t bytes = 0, blocks = 0, limit = 0;
};
PoolStats GetPoolStats();
// Frees every kept block; returns the bytes freed. Blocks in use are not affected.
size_t TrimPool();
// Sets the most the pool keeps (0: keep nothing, every release frees), trimming it down to
// the new limit now; returns the bytes freed.
size_t SetPoolLimit(size_t bytes);

// Which kept block may serve a request. Close: the smallest of at most 1.25 times the request,
// for blocks JavaScript may hold for long (results, kept reductions): until their ArrayBuffers
// are collected they are lost to the pool, and a result in a larger block would take it from the
// temporaries of the next call (an eigsh result of 4 MiB in the 6 MiB block of the next solve's
// basis made that solve fault in a fresh one: 3–5x its time at N = 8000, k = 1). Any: the
// smallest that holds it, for temporaries released when their operation ends: fresh memory is
// what the pool exists to avoid (~3 ms per 2 MiB page on these VMs), and a block of another size
// is back before the next operation.
enum class Fit { Close, Any };

// A block of at least `bytes`; *capacity receives its real size (pass it back to ReleaseBlock).
// Throws std::bad_alloc on failure.
void* AcquireBlock(size_t bytes, size_t* capacity, Fit fit = Fit::Close);
void ReleaseBlock(void* data, size_t capacity);

// Blocks handed to JavaScript as results. While a native call reads one in place it is pinned:
// if JavaScript lets go of it meanwhile (collected after a transfer), the release waits for the
// last unpin, so in-place reads of specdyn's own results stay valid without a copy.
void RegisterExternal(void* data, size_t capacity);
// Finalizer side: releases the block now, or after the last unpin.
void ReleaseExternal(void* data);
// If [ptr, ptr + bytes) lies inside a registered block, pins it and returns the block; else null.
void* PinExternal(const void* ptr, size_t bytes);
void UnpinExternal(void* block);

// RAII array of n elements from the pool (or the heap when small); a temporary by default
// (Fit::Any), Fit::Close for arrays kept beyond their operation.
template <typename T>
class PooledArray {
 public:
  PooledArray() = default;
  explicit PooledArray(size_t n, Fit fit = Fit::Any) { reset(n, fit); }
  ~PooledArray() { release(); }
  PooledArray(const PooledArray&) = delete;
  PooledArray& operator=(const PooledArray&) = delete;
  void reset(size_t n, Fit fit = Fit::Any) {
    release();
    data_ = static_cast<T*>(AcquireBlock(n * sizeof(T), &capacity_, fit));
  }
  T* get() const { return data_; }
  T& operator[](size_t i) const { return data_[i]; }

 private:
  void release() {
    if (data_) ReleaseBlock(data_, capacity_);
    data_ = nullptr;
  }
  T* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace specdyn
