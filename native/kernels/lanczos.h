// Iterative symmetric eigensolvers for large matrices: a thick-restart block Lanczos method for
// a few extreme eigenpairs, and stochastic Lanczos quadrature (SLQ) for the spectral density.
// Pure C++ over BLAS/LAPACK (no N-API); the matrix enters only through SymOperator::Apply on
// column-major blocks, so dense matrices and implicit products (W Wᵀ, Gram forms of distance
// matrices) share one solver.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels.h"

namespace specdyn {

// Cooperative cancellation and progress through a small int32 array shared with the caller's
// thread: slot 0 is the cancel flag (read), slots 1..3 are written (work done, work planned,
// converged pairs). A null pointer disables both.
struct Control {
  int32_t* slots = nullptr;
  bool Cancelled() const { return slots && __atomic_load_n(slots, __ATOMIC_RELAXED) != 0; }
  void Report(int64_t done, int64_t planned, int64_t converged) const {
    if (!slots) return;
    __atomic_store_n(slots + 1, int32_t(done), __ATOMIC_RELAXED);
    __atomic_store_n(slots + 2, int32_t(planned), __ATOMIC_RELAXED);
    __atomic_store_n(slots + 3, int32_t(converged), __ATOMIC_RELAXED);
  }
};
constexpr int kControlSlots = 4;

// A cancelled solve returns Status::Aborted() (an AbortError in JavaScript).

// A symmetric linear operator of order Size(): Y = A X for column-major blocks X, Y (n x b,
// leading dimension n). Apply may be called from one thread at a time.
class SymOperator {
 public:
  virtual ~SymOperator() = default;
  virtual int64_t Size() const = 0;
  virtual void Apply(const double* x, double* y, int64_t b) = 0;
  // Large products run in row panels and stop early (leaving y unspecified) once the control
  // flag is set, so that a cancel lands within a fraction of a second even for n ~ 10⁴–10⁵.
  void SetControl(const Control* c) { ctl_ = c; }

 protected:
  bool Stopped() const { return ctl_ && ctl_->Cancelled(); }

 private:
  const Control* ctl_ = nullptr;
};

// A dense symmetric n x n matrix (row-major = column-major). float32 precision multiplies in
// single precision (a float32 copy is made of float64 input); float32 input at float64
// precision is widened panel by panel, never copied whole.
std::unique_ptr<SymOperator> DenseOperator(const MatView& a, Precision p);
// W Wᵀ (outer: order rows) or Wᵀ W (inner: order cols) of the row-major W, never formed.
std::unique_ptr<SymOperator> GramOperator(const MatView& w, bool outer, Precision p);
// The N x N distance matrix of the rows of x in its Gram form (sqeuclidean: s1ᵀ + 1sᵀ − 2XXᵀ on
// centred rows; cosine: 11ᵀ − X̂X̂ᵀ; correlation: cosine of the mean-centred rows), never
// formed. Other metrics have no Gram form: RangeError. Zero (constant) rows: RangeError.
Status MakeDistanceOperator(const MatView& x, Metric metric, Precision p,
                            std::unique_ptr<SymOperator>* out);


// Extra bytes the operators above allocate.
double DenseOperatorBytes(const MatView& a, Precision p);
double GramOperatorBytes(const MatView& w, bool outer, Precision p);
double DistanceOperatorBytes(const MatView& x, Precision p);

enum class Which { Largest, Smallest, Magnitude };

struct EigshOptions {
  int64_t k = 6;
  Which which = Which::Largest;
  double tol = 1e-10;      // residual ‖A x − θ x‖ ≤ tol · ‖A‖ (‖A‖ estimated by the largest |θ|)
  int64_t block = 0;       // 0: automatic
  int64_t basis = 0;       // 0: automatic
  int64_t maxRestarts = 0; // 0: automatic
  uint64_t seed = 0;
};

struct EigshStats {
  int64_t restarts = 0, matvecs = 0, block = 0, basis = 0;
  double normEstimate = 0;
};

// Resolved block and basis sizes for problem order n (used to size memory before solving).
void EigshSizes(int64_t n, const EigshOptions& o, int64_t* block, int64_t* basis);
double EigshWorkBytes(int64_t n, const EigshOptions& o);

// The k eigenpairs of op selected by `which`, most extreme first (largest: descending,
// smallest: ascending, magnitude: descending |λ|). vectors (nullable) receives k x n row-major
// unit eigenvectors (largest-magnitude entry positive); residuals (nullable) receives
// ‖A x − λ x‖ for each pair. Out of restarts it returns ErrKind::NoConvergence with info = the
// number c of converged pairs, and those pairs in the first c slots of the outputs.
Status Eigsh(SymOperator& op, const EigshOptions& o, const Control& c, double* values,
             double* vectors, double* residuals, EigshStats* stats);

struct SlqOptions {
  int64_t probes = 16;
  int64_t steps = 48;
  uint64_t seed = 0;
  int64_t bins = 50;             // used when edges is empty
  std::vector<double> edges;     // bins + 1 ascending bin edges, or empty for automatic
};

struct SlqResult {
  std::vector<double> edges;   // bins + 1
  std::vector<double> mass;    // fraction of eigenvalues per bin (mean over probes)
  std::vector<double> stderr_; // standard error of mass across probes
  std::vector<double> bias;    // quadrature bias estimate: |mass(steps) − mass(steps / 2)|
  double lo = 0, hi = 0;       // extreme Ritz values seen
  int64_t matvecs = 0;
};

double SlqWorkBytes(int64_t n, const SlqOptions& o);

// Stochastic Lanczos quadrature: `probes` Rademacher vectors run `steps` Lanczos steps together
// (one block product per step, full reorthogonalisation per probe); each tridiagonal gives a
// Gauss quadrature whose CDF, interpolated between nodes, is binned.
Status SpectralDensity(SymOperator& op, const SlqOptions& o, const Control& c, SlqResult* out);

}  // namespace specdyn
