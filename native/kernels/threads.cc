// Thread control and BLAS identification.
#include "threads.h"

#include <cblas.h>

#include <thread>

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

int HardwareThreads() {
  unsigned h = std::thread::hardware_concurrency();
  return h == 0 ? 1 : static_cast<int>(h);
}

std::string BlasConfig() {
  return openblas_get_config ? std::string(openblas_get_config()) : std::string("unknown BLAS");
}

std::string BlasCore() { return openblas_get_corename ? std::string(openblas_get_corename()) : std::string("unknown"); }

}  // namespace specdyn
