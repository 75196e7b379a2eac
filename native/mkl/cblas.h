// Built with BLA_VENDOR=Intel10_64lp only (CMakeLists.txt puts this directory first on the
// include path): the sources include <cblas.h> whatever the vendor; MKL names its header
// mkl_cblas.h. LP64: MKL_INT is int, as in every other build.
#pragma once
#include <mkl_cblas.h>
