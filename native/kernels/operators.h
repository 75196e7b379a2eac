// Symmetric operators the iterative solvers multiply by: a dense matrix, W Wᵀ / Wᵀ W never
// formed, and distance matrices in their Gram form. Pure C++ over BLAS (no N-API). The matrix
// enters the solvers only through SymOperator::Apply on column-major blocks, so dense matrices
// and implicit products share one solver; Control carries cancellation and progress.
#pragma once

#include <cstdint>
#include <memory>

#include "matview.h"
#include "status.h"

namespace specdyn {

// Cooperative cancellation and progress through a small int32 array shared with the caller's
// thread: slot 0 is the cancel flag (read), slots 1..3 are written (work done, work planned,
// converged pairs). A null pointer disables both.
struct Control {
  int32_t* slots = nullptr;
  bool reports = true;  // false: Report writes nothing (a solve inside another's, which reports for both)
  bool Cancelled() const { return slots && __atomic_load_n(slots, __ATOMIC_RELAXED) != 0; }
  void Report(int64_t done, int64_t planned, int64_t converged) const {
    if (!slots || !reports) return;
    __atomic_store_n(slots + 1, int32_t(done), __ATOMIC_RELAXED);
    __atomic_store_n(slots + 2, int32_t(planned), __ATOMIC_RELAXED);
    __atomic_store_n(slots + 3, int32_t(converged), __ATOMIC_RELAXED);
  }
};
constexpr int kControlSlots = 4;

// A = B Bᵀ for a B of n x p with p < n, as the products apply it (the operator's own, possibly
// scaled, float64 copy of W): a solver may find the top eigenpairs of A from the p x p matrix
// Bᵀ B instead (eigsh.cc, the small-Gram route). x is W row-major, rows x cols; B = W when
// outer (A = W Wᵀ), Wᵀ otherwise (A = Wᵀ W).
struct GramFactor {
  const double* x = nullptr;
  int64_t rows = 0, cols = 0;
  bool outer = true;
  int64_t Order() const { return outer ? rows : cols; }  // n
  int64_t Rank() const { return outer ? cols : rows; }   // p
};

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
  // The operator applied is 2^-ScaleExp() times the true one (scale.h): eigenvalues, residuals
  // and spectral edges the solvers find are multiplied by 2^ScaleExp() by the caller. Non-zero
  // only for Gram-type products of entries that would underflow or overflow when squared.
  int ScaleExp() const { return scaleExp_; }
  // The factor of a float64 Gram operator whose smaller side is smaller than its order; null otherwise.
  virtual const GramFactor* Factor() const { return nullptr; }

 protected:
  bool Stopped() const { return ctl_ && ctl_->Cancelled(); }
  int scaleExp_ = 0;

 private:
  const Control* ctl_ = nullptr;
};

// A dense symmetric n x n matrix (row-major = column-major). float32 precision multiplies in
// single precision (a float32 copy is made of float64 input); float32 input at float64
// precision is widened panel by panel, never copied whole.
std::unique_ptr<SymOperator> DenseOperator(const MatView& a, Precision p);
// A dense operator is applied unscaled: a largest entry above 2^1020 / n (float32 precision:
// 2^124 / n) could overflow its products (sums of n terms), one below 2^-960 (float32: 2^-100)
// underflow them; both are refused (RangeError) before a solve starts.
Status CheckDenseOperatorRange(const MatView& a, Precision p);
// W Wᵀ (outer: order rows) or Wᵀ W (inner: order cols) of the row-major W, never formed. W is
// scaled by a power of two 2^-e when its entries would underflow or overflow when squared
// (ScaleExp() = 2e). Non-finite entries of w: RangeError naming the first (CheckFinite), found
// by the same pass that copies w.
Status GramOperator(const MatView& w, bool outer, Precision p, std::unique_ptr<SymOperator>* out);
// The N x N distance matrix of the rows of x in its Gram form (sqeuclidean: s1ᵀ + 1sᵀ − 2XXᵀ on
// centred rows; cosine: 11ᵀ − X̂X̂ᵀ; correlation: cosine of the mean-centred rows), never
// formed. Other metrics have no Gram form: RangeError. Zero (constant) rows: RangeError. Rows
// are scaled by powers of two as Distance does (sqeuclidean: ScaleExp() = 2e; cosine and
// correlation: each row by its own, ScaleExp() = 0).
Status MakeDistanceOperator(const MatView& x, Metric metric, Precision p, std::unique_ptr<SymOperator>* out);

// Extra bytes the operators above allocate.
double DenseOperatorBytes(const MatView& a, Precision p);
double GramOperatorBytes(const MatView& w, bool outer, Precision p);
double DistanceOperatorBytes(const MatView& x, Precision p);

}  // namespace specdyn
