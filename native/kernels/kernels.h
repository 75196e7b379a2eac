// Pure C++ numerical kernels over BLAS/LAPACK. No N-API here: every function takes plain
// pointers and sizes, returns a Status, and may run on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace specdyn {

// What went wrong, one kind per JavaScript error class (bindings/args.cc MakeError):
// Type → TypeError, Range → RangeError, Lapack → LapackError, Aborted → AbortError,
// NoConvergence → NoConvergenceError (an iterative solver ran out of restarts), Internal →
// InternalError (a C++ exception that is a specdyn bug, never a crash).
enum class ErrKind { None, Type, Range, Lapack, Aborted, NoConvergence, Internal };

// The outcome of a kernel. Messages follow "Expected <what> for <name> but received <value>".
struct Status {
  ErrKind kind = ErrKind::None;
  std::string message;
  std::string routine;  // LAPACK routine (Lapack) or solver (NoConvergence) name
  int info = 0;         // LAPACK info (Lapack) or the number of converged pairs (NoConvergence)

  bool ok() const { return kind == ErrKind::None; }
  static Status Ok() { return Status(); }
  static Status Make(ErrKind kind, std::string msg) {
    Status s;
    s.kind = kind;
    s.message = std::move(msg);
    return s;
  }
  static Status Range(std::string msg) { return Make(ErrKind::Range, std::move(msg)); }
  static Status Internal(std::string msg) { return Make(ErrKind::Internal, std::move(msg)); }
  // A cancelled operation (the caller's AbortSignal fired).
  static Status Aborted() { return Make(ErrKind::Aborted, "The operation was aborted"); }
  static Status Lapack(const std::string& routine, int info);
};

// A number as JavaScript's String(x) writes it (shortest round-trip digits, exponent form
// below 1e-6 and from 1e21), so that messages built here and in TypeScript read alike.
std::string FormatNumber(double x);

// Test-only fault injection (bindings: __injectFault): the next FaultPoint(where) reached
// throws the armed exception. Lets tests prove that no exception from native code, on any
// path, ends the process.
enum class FaultSite { None, Kernel, Result };
enum class FaultKind { LengthError, BadAlloc, Unknown };
void ArmFault(FaultSite where, FaultKind what);
void FaultPoint(FaultSite where);

// A read-only, row-major view of caller memory (float64 or float32 elements).
struct MatView {
  const void* data = nullptr;
  bool f32 = false;
  int64_t rows = 0;
  int64_t cols = 0;
  std::string name = "a";

  double at(int64_t i, int64_t j) const {
    return f32 ? static_cast<double>(static_cast<const float*>(data)[i * cols + j])
               : static_cast<const double*>(data)[i * cols + j];
  }
  int64_t size() const { return rows * cols; }
};

enum class Metric { Euclidean, SqEuclidean, Cosine, Angular, Correlation };
enum class Precision { F64, F32 };

const char* MetricName(Metric m);

// Input checks (O(size), run off the main thread for async calls).
Status CheckFinite(const MatView& m);
Status CheckSymmetric(const MatView& m, double rtol);
// For precision 'float32' on float64 input: every value must fit a float.
Status CheckFloat32Range(const MatView& m);
// CheckFinite, then CheckFloat32Range when p is F32.
Status CheckInput(const MatView& m, Precision p);

// X Xᵀ (rows x rows) into out (row-major, exactly symmetric).
Status Gram(const MatView& x, Precision p, double* out);

// Pairwise distances between the rows of x into out (rows x rows): exact zero diagonal, exact
// symmetry, no negative squared distances. Near-coincident pairs, where the Gram expansion
// cancels, are recomputed directly so that every entry keeps full relative accuracy.
Status Distance(const MatView& x, Metric metric, Precision p, double* out);

// Symmetric eigen-solvers. Eigenvalues ascending. lo < 0 means the full spectrum (?syevd);
// otherwise the index range [lo, hi] (?syevr). vectors (nullable) receives k x n row-major:
// row j is the unit eigenvector of values[j]. The row-major upper triangle of a is read.
Status Eigen(const MatView& a, Precision p, int64_t lo, int64_t hi, double* values, double* vectors);

// All n eigenvalues (ascending, into values) and the unit eigenvectors of the index range
// [lo, hi] (k = hi − lo + 1 rows of n, row-major, into vectors) from one tridiagonal reduction
// (?sytrd, ?sterf, ?stemr, ?ormtr): what ?syevd + ?syevr give, at the cost of one reduction.
Status EigenAllValues(const MatView& a, Precision p, int64_t lo, int64_t hi, double* values,
                      double* vectors);
double EigenAllValuesWorkBytes(int64_t n, int64_t k, Precision p);

// Singular values (descending) of w (rows x cols) via ?gesdd. When u and v are non-null they
// receive the top k singular vectors by row: u is k x rows, v is k x cols, w = Σ s_i u_i v_iᵀ.
Status Svd(const MatView& w, Precision p, int64_t k, double* s, double* u, double* v);

// Bytes of temporary memory the kernels above will allocate (excluding caller outputs), used to
// refuse a problem before allocating anything.
double DistanceWorkBytes(const MatView& x, Metric metric, Precision p);
double EigenWorkBytes(int64_t n, Precision p, bool ranged, bool vectors);
double SvdWorkBytes(int64_t rows, int64_t cols, Precision p, bool vectors);
// Largest workspace (in elements) LAPACK would be asked for; must fit a 32-bit lapack_int.
double EigenLworkElems(int64_t n, bool ranged, bool vectors);
double SvdLworkElems(int64_t rows, int64_t cols, bool vectors);

// Threads: BLAS threads for one big call, and the helper used for O(n²) post-processing.
int BlasThreads();
void SetBlasThreads(int n);
int HardwareThreads();
std::string BlasConfig();
std::string BlasCore();

// Runs fn(begin, end) over [0, n) split into contiguous chunks on up to `threads` threads.
template <typename F>
void ParallelFor(int64_t n, int threads, F fn);

}  // namespace specdyn

#include "parallel.inl"
