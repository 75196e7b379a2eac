// Built with BLA_VENDOR=Intel10_64lp only: <lapacke.h> is MKL's mkl_lapacke.h (LAPACKE is
// part of MKL; no separate liblapacke is linked). LP64: lapack_int is int.
#pragma once
#include <mkl_lapacke.h>
