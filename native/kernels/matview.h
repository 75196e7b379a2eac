// What the kernels read: a row-major view of caller memory, and the metric / precision enums.
#pragma once

#include <cstdint>
#include <string>

namespace specdyn {

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

inline const char* MetricName(Metric m) {
  switch (m) {
    case Metric::Euclidean: return "euclidean";
    case Metric::SqEuclidean: return "sqeuclidean";
    case Metric::Cosine: return "cosine";
    case Metric::Angular: return "angular";
    case Metric::Correlation: return "correlation";
  }
  return "?";
}

}  // namespace specdyn
