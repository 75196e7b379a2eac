// A few extreme eigenpairs of a large symmetric operator by thick-restart Lanczos, single-vector
// or block (EigshSizes).
#pragma once

#include <cstdint>

#include "operators.h"

namespace specdyn {

enum class Which { Largest, Smallest, Magnitude };

// How a Gram operator with a smaller side (operators.h GramFactor) is solved: Auto takes the
// small-Gram route (Bᵀ B formed by ?syrk, Lanczos on it, the vectors mapped back and checked
// on A) when it is predicted cheaper, Lanczos never does, Gram always does (where it applies:
// which Largest or Magnitude, k < p, no block size set). See Eigsh.
enum class Route { Auto, Lanczos, Gram };

struct EigshOptions {
  int64_t k = 6;
  Which which = Which::Largest;
  double tol = 1e-10;  // residual ‖A x − θ x‖ ≤ tol · ‖A‖ (‖A‖ estimated by the largest |θ|)
  int64_t block = 0;   // 0: automatic (see preferBlocks)
  // The automatic block: single-vector Lanczos (block 1) unless the operator streams a large
  // dense matrix per product (then a block, which is also what finds exact multiplets up to
  // its size by construction).
  bool preferBlocks = false;
  int64_t basis = 0;        // 0: automatic
  int64_t maxRestarts = 0;  // 0: automatic
  uint64_t seed = 0;
  // Unit round-off of the operator products (2^-52 float64, 2^-24 float32): a solve whose
  // residuals sit within ~64·sqrt(n)·roundoff·‖A‖ without progress is declared stalled.
  double roundoff = 0x1p-52;
  Route route = Route::Auto;
};

struct EigshStats {
  int64_t restarts = 0, matvecs = 0, block = 0, basis = 0;
  double normEstimate = 0;
  bool gram = false;        // the answer came from the small-Gram route
  int64_t gramMatvecs = 0;  // products with the p x p Gram matrix on that route
};

// Whether the small-Gram route applies to a Gram operator of order n and smaller side p
// (p < n) under these options (Route aside).
bool GramRouteApplies(int64_t n, int64_t p, const EigshOptions& o);
// Extra bytes that route allocates.
double GramRouteBytes(int64_t n, int64_t p, const EigshOptions& o);

// Resolved block and basis sizes for problem order n (used to size memory before solving).
void EigshSizes(int64_t n, const EigshOptions& o, int64_t* block, int64_t* basis);
double EigshWorkBytes(int64_t n, const EigshOptions& o);

// The k eigenpairs of op selected by `which`, most extreme first (largest: descending,
// smallest: ascending, magnitude: descending |λ|). vectors (nullable) receives k x n row-major
// unit eigenvectors (largest-magnitude entry positive); residuals (nullable) receives
// ‖A x − λ x‖ for each pair. Out of restarts it returns ErrKind::NoConvergence with info = the
// number c of converged pairs, and those pairs in the first c slots of the outputs.
Status Eigsh(SymOperator& op, const EigshOptions& o, const Control& c, double* values, double* vectors,
             double* residuals, EigshStats* stats);

}  // namespace specdyn
