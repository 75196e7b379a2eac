// The spectral density (eigenvalue histogram) of a large symmetric operator by stochastic
// Lanczos quadrature (SLQ).
#pragma once

#include <cstdint>
#include <vector>

#include "operators.h"

namespace specdyn {

struct SlqOptions {
  int64_t probes = 16;
  int64_t steps = 48;
  uint64_t seed = 0;
  int64_t bins = 50;          // used when edges is empty
  std::vector<double> edges;  // bins + 1 ascending bin edges, or empty for automatic
};

struct SlqResult {
  std::vector<double> edges;    // bins + 1
  std::vector<double> mass;     // fraction of eigenvalues per bin (mean over probes)
  std::vector<double> stderr_;  // standard error of mass across probes
  std::vector<double> bias;     // quadrature bias estimate: |mass(steps) − mass(steps / 2)|
  double lo = 0, hi = 0;        // extreme Ritz values seen
  int64_t matvecs = 0;
};

double SlqWorkBytes(int64_t n, const SlqOptions& o);

// Stochastic Lanczos quadrature: `probes` Rademacher vectors run `steps` Lanczos steps together
// (one block product per step, full reorthogonalisation per probe); each tridiagonal gives a
// Gauss quadrature whose CDF, interpolated between nodes, is binned.
Status SpectralDensity(SymOperator& op, const SlqOptions& o, const Control& c, SlqResult* out);

}  // namespace specdyn
