// Thread control and BLAS identification.
#include "threads.h"

#include <thread>

#ifndef SPECDYN_BLAS_MKL
#define SPECDYN_BLAS_MKL 0
#endif

#if SPECDYN_BLAS_MKL
// Intel MKL (BLA_VENDOR=Intel10_64lp, GNU OpenMP threads; CMakeLists.txt). The gate (blas_gate.cc) sets one
// count for the whole process, as with OpenBLAS: a large operation runs alone with every thread,
// small ones run side by side with 1, and that 1 must also hold for BLAS calls made on
// ParallelFor's helper threads. So the process-wide mkl_set_num_threads, not the per-thread
// mkl_set_num_threads_local (which would bind only the thread that passed the gate, and defeat the
// gate's memory of the count it last applied).
#include <dlfcn.h>
#include <mkl_service.h>

namespace specdyn {
namespace {

// MKL's core library loads its CPU-specific kernels (libmkl_def.so, libmkl_avx2.so, ...) with
// dlopen when first called, and those resolve symbols of the core and threading libraries from
// the global scope. Node loads an addon with RTLD_LOCAL, which keeps the addon's dependencies
// out of that scope ("Cannot load libmkl_def.so", then exit). Reopening the already loaded
// libraries with RTLD_GLOBAL | RTLD_NOLOAD, when the addon loads, puts them there (a name that
// is not loaded is skipped: NOLOAD never loads anything).
bool ExposeMklToItsKernels() {
  const char* names[] = {"libmkl_core.so", "libmkl_gnu_thread.so", "libmkl_intel_lp64.so", "libgomp.so.1"};
  bool core = false;
  for (const char* name : names) {
    void* h = dlopen(name, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    if (h && name == names[0]) core = true;
  }
  return core;
}
[[maybe_unused]] const bool kMklExposed = ExposeMklToItsKernels();

}  // namespace

int BlasThreads() { return mkl_get_max_threads(); }

void SetBlasThreads(int n) { mkl_set_num_threads(n); }

std::string BlasConfig() {
  char buf[256] = {0};
  mkl_get_version_string(buf, int(sizeof buf) - 1);
  return std::string(buf);
}

std::string BlasCore() {
  MKLVersion v;
  mkl_get_version(&v);
  return v.Processor ? std::string(v.Processor) : std::string("unknown");
}

const char* BlasVendor() { return "mkl"; }

}  // namespace specdyn

#else
// OpenBLAS extensions. Against shared libraries they are declared weak, so that a build against
// another BLAS still links (each use checks the symbol first). A static link needs strong
// references: a weak one would not pull the archive member in.
#if SPECDYN_STATIC_BLAS
#define SPECDYN_WEAK
#else
#define SPECDYN_WEAK __attribute__((weak))
#endif
extern "C" {
void openblas_set_num_threads(int) SPECDYN_WEAK;
int openblas_get_num_threads(void) SPECDYN_WEAK;
char* openblas_get_config(void) SPECDYN_WEAK;
char* openblas_get_corename(void) SPECDYN_WEAK;
}

namespace specdyn {

int BlasThreads() { return openblas_get_num_threads ? openblas_get_num_threads() : 1; }

void SetBlasThreads(int n) {
  if (openblas_set_num_threads) openblas_set_num_threads(n);
}

std::string BlasConfig() {
  return openblas_get_config ? std::string(openblas_get_config()) : std::string("unknown BLAS");
}

std::string BlasCore() { return openblas_get_corename ? std::string(openblas_get_corename()) : std::string("unknown"); }

const char* BlasVendor() { return openblas_get_config ? "openblas" : "unknown"; }

}  // namespace specdyn
#endif

namespace specdyn {

int HardwareThreads() {
  unsigned h = std::thread::hardware_concurrency();
  return h == 0 ? 1 : static_cast<int>(h);
}

}  // namespace specdyn
