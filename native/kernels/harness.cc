#include "harness.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "checks.h"
#include "distance.h"
#include "eigen.h"
#include "eigsh.h"
#include "elementwise.h"
#include "gemm.h"
#include "operators.h"
#include "slq.h"
#include "status.h"
#include "svd.h"

namespace specdyn {
namespace harness {
namespace {

// Reads the fuzzer's bytes; past the end every read yields zeros.
class Reader {
 public:
  Reader(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  uint8_t U8() { return pos_ < n_ ? d_[pos_++] : 0; }
  uint32_t U16() { return uint32_t(U8()) | (uint32_t(U8()) << 8); }
  // An integer in [lo, hi].
  int64_t Int(int64_t lo, int64_t hi) { return lo + int64_t(U16() % uint32_t(hi - lo + 1)); }
  bool Bool() { return U8() & 1; }
  // A value: mostly small integers and fractions, and the patterns that break numerics (NaN,
  // ±Infinity, ±0, subnormals, values near the float64 and float32 limits), or 8 raw bytes.
  double Value() {
    static const double kSpecial[] = {0.0,      -0.0,      1.0,    -1.0,   0.5,     1e-200,   -3e-201,
                                      1e200,    -2e200,    1e-310, 5e-324, 1e308,   -1.7e308, 1e154,
                                      1.4e154,  1e-154,    3.4e38, 3.5e38, 1.2e-38, 1e-45,    NAN,
                                      INFINITY, -INFINITY, 1e16,   2.0,    1e-16,   -7.25,    0.1};
    const uint8_t sel = U8();
    if (sel < 128) return double(int(sel % 17) - 8) / double(1 + sel / 17);
    if (sel < 240) return kSpecial[(sel - 128) % (sizeof kSpecial / sizeof kSpecial[0])];
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits |= uint64_t(U8()) << (8 * i);
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }

 private:
  const uint8_t* d_;
  size_t n_, pos_ = 0;
};

// A refusal, except a LAPACK "illegal argument" (info < 0): specdyn passed LAPACK something it
// should have refused itself (the message asks for a bug report), so that is a bug.
Outcome Refused(const Status& s) {
  if (s.kind == ErrKind::Lapack && s.info < 0) return Outcome{Outcome::Bug, s.message};
  return Outcome{Outcome::Refused, s.message};
}
Outcome Bug(const std::string& what) { return Outcome{Outcome::Bug, what}; }
Outcome Fine() { return Outcome{}; }

// A rows x cols matrix of decoded values, float64 or float32 storage.
struct Mat {
  std::vector<double> d;
  std::vector<float> f;
  MatView view;
};
void Fill(Reader& r, int64_t rows, int64_t cols, bool f32, Mat* m, bool symmetric = false) {
  m->d.assign(size_t(rows * cols), 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = symmetric ? i : 0; j < cols; ++j) {
      m->d[size_t(i * cols + j)] = r.Value();
      if (symmetric) m->d[size_t(j * cols + i)] = m->d[size_t(i * cols + j)];
    }
  if (symmetric && r.Bool()) m->d[size_t(r.Int(0, rows * cols - 1))] += r.Value();  // a defect
  m->view.rows = rows;
  m->view.cols = cols;
  m->view.f32 = f32;
  // SPECDYN_FUZZ_DEBUG=1 prints each decoded matrix (to read a corpus input).
  if (std::getenv("SPECDYN_FUZZ_DEBUG")) {
    std::fprintf(stderr, "matrix %lld x %lld%s:", static_cast<long long>(rows), static_cast<long long>(cols),
                 f32 ? " float32" : "");
    for (double v : m->d) std::fprintf(stderr, " %s", FormatNumber(f32 ? double(float(v)) : v).c_str());
    std::fprintf(stderr, "\n");
  }
  m->view.name = "x";
  if (f32) {
    m->f.resize(m->d.size());
    for (size_t i = 0; i < m->d.size(); ++i) m->f[i] = float(m->d[i]);
    m->view.data = m->f.data();
  } else {
    m->view.data = m->d.data();
  }
}

bool AllFinite(const double* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

// ‖m‖_F computed with scaling (no overflow or underflow).
double FrobeniusNorm(const MatView& m) {
  double scale = 0, ssq = 1;
  for (int64_t i = 0; i < m.size(); ++i) {
    const double a = std::fabs(m.at(i / m.cols, i % m.cols));
    if (a == 0) continue;
    if (scale < a) {
      ssq = 1 + ssq * (scale / a) * (scale / a);
      scale = a;
    } else {
      ssq += (a / scale) * (a / scale);
    }
  }
  return scale * std::sqrt(ssq);
}

Outcome GramTarget(Reader& r, bool distance) {
  const int64_t rows = r.Int(1, 12), cols = r.Int(1, 12);
  const bool f32 = r.Bool();
  const Precision p = r.Bool() ? Precision::F32 : Precision::F64;
  const Metric metric = Metric(r.Int(0, 4));
  Mat m;
  Fill(r, rows, cols, f32, &m);
  Status s = CheckInput(m.view, p);
  if (!s.ok()) return Refused(s);
  std::vector<double> out(static_cast<size_t>(rows * rows), -1.0);
  s = distance ? Distance(m.view, metric, p, out.data()) : Gram(m.view, p, out.data());
  if (!s.ok()) return Refused(s);
  if (!AllFinite(out.data(), out.size())) return Bug("non-finite entry in an accepted result");
  for (int64_t i = 0; i < rows; ++i) {
    const double dii = out[size_t(i * rows + i)];
    if (distance ? dii != 0 : dii < 0) return Bug("diagonal entry " + FormatNumber(dii));
    for (int64_t j = 0; j < rows; ++j) {
      const double v = out[size_t(i * rows + j)];
      if (v != out[size_t(j * rows + i)]) return Bug("not exactly symmetric");
      if (!distance) continue;
      if (v < 0) return Bug("negative distance");
      if ((metric == Metric::Cosine || metric == Metric::Correlation) && v > 2 + 1e-12) return Bug("cosine above 2");
      if (metric == Metric::Angular && v > M_PI + 1e-12) return Bug("angle above pi");
    }
  }
  return Fine();
}

Outcome EigenTarget(Reader& r) {
  const int64_t n = r.Int(1, 10);
  const bool f32 = r.Bool(), vectors = r.Bool(), all = r.Bool();
  const Precision p = r.Bool() ? Precision::F32 : Precision::F64;
  int64_t lo = -1, hi = -1;
  if (r.Bool()) {
    lo = r.Int(0, n - 1);
    hi = r.Int(lo, n - 1);
  }
  Mat m;
  Fill(r, n, n, f32, &m, true);
  Status s = CheckInput(m.view, p);
  if (s.ok()) s = CheckSymmetric(m.view, f32 ? 1e-5 : 1e-10);
  if (!s.ok()) return Refused(s);
  const int64_t k = lo < 0 ? n : hi - lo + 1;
  const bool combined = all && lo >= 0 && vectors;
  std::vector<double> values(size_t(combined ? n : k)), vecs(vectors ? size_t(k * n) : 0);
  s = combined ? EigenAllValues(m.view, p, lo, hi, values.data(), vecs.data())
               : Eigen(m.view, p, lo, hi, values.data(), vectors ? vecs.data() : nullptr);
  if (!s.ok()) return Refused(s);
  if (!AllFinite(values.data(), values.size()) || !AllFinite(vecs.data(), vecs.size()))
    return Bug("non-finite eigenpair");
  for (size_t i = 1; i < values.size(); ++i)
    if (values[i] < values[i - 1]) return Bug("eigenvalues not ascending");
  const double bound = FrobeniusNorm(m.view) * (1 + 1e-5) + (p == Precision::F32 ? 1e-37 : 1e-300);
  for (double v : values)
    if (std::fabs(v) > bound) return Bug("eigenvalue beyond the Frobenius norm");
  return Fine();
}

Outcome SvdTarget(Reader& r) {
  const int64_t rows = r.Int(1, 10), cols = r.Int(1, 10), mn = std::min(rows, cols);
  const bool f32 = r.Bool(), vectors = r.Bool();
  const Precision p = r.Bool() ? Precision::F32 : Precision::F64;
  const int64_t k = r.Int(1, mn);
  Mat m;
  Fill(r, rows, cols, f32, &m);
  Status s = CheckInput(m.view, p);
  if (!s.ok()) return Refused(s);
  std::vector<double> sv(static_cast<size_t>(mn)), u(vectors ? size_t(k * rows) : 0), v(vectors ? size_t(k * cols) : 0);
  s = Svd(m.view, p, vectors ? k : 0, sv.data(), vectors ? u.data() : nullptr, vectors ? v.data() : nullptr);
  if (!s.ok()) return Refused(s);
  if (!AllFinite(sv.data(), sv.size()) || !AllFinite(u.data(), u.size()) || !AllFinite(v.data(), v.size()))
    return Bug("non-finite singular triplet");
  // float32: subnormal inputs round to multiples of 1.4e-45, hence the absolute slack.
  const double bound = FrobeniusNorm(m.view) * (1 + 1e-5) + (p == Precision::F32 ? 1e-37 : 1e-300);
  for (size_t i = 0; i < sv.size(); ++i) {
    if (sv[i] < 0 || sv[i] > bound) return Bug("singular value out of [0, |W|_F]");
    if (i > 0 && sv[i] > sv[i - 1]) return Bug("singular values not descending");
  }
  return Fine();
}

// The operator of an iterative target: a dense symmetric matrix, a Gram or a distance operator.
Status MakeOperator(Reader& r, Mat* m, Precision p, std::unique_ptr<SymOperator>* op) {
  const int kind = int(r.Int(0, 2));
  const bool f32 = r.Bool();
  const int64_t rows = r.Int(1, 14), cols = kind == 0 ? rows : r.Int(1, 14);
  Fill(r, rows, cols, f32, m, kind == 0);
  Status s = CheckFinite(m->view);
  if (!s.ok()) return s;
  if (kind == 0) {
    s = CheckSymmetric(m->view, f32 ? 1e-5 : 1e-10);
    if (s.ok()) s = CheckDenseOperatorRange(m->view, p);
    if (s.ok()) *op = DenseOperator(m->view, p);
    return s;
  }
  if (kind == 1) {
    return GramOperator(m->view, r.Bool(), p, op);
  }
  const Metric metrics[] = {Metric::SqEuclidean, Metric::Cosine, Metric::Correlation};
  return MakeDistanceOperator(m->view, metrics[r.Int(0, 2)], p, op);
}

Outcome EigshTarget(Reader& r) {
  const Precision p = r.Bool() ? Precision::F32 : Precision::F64;
  Mat m;
  std::unique_ptr<SymOperator> op;
  Status s = MakeOperator(r, &m, p, &op);
  if (!s.ok()) return Refused(s);
  const int64_t n = op->Size();
  EigshOptions o;
  o.k = r.Int(1, n);
  o.which = Which(r.Int(0, 2));
  o.tol = std::ldexp(1.0, -int(r.Int(4, p == Precision::F64 ? 52 : 23)));  // the binding's floor and above
  if (r.Bool()) o.block = r.Int(1, n);
  if (r.Bool()) o.basis = r.Int(std::min<int64_t>(2, n), n);
  o.maxRestarts = r.Int(1, 30);
  o.seed = r.U16();
  std::vector<double> values(static_cast<size_t>(o.k)), vectors(static_cast<size_t>(o.k * n)),
      res(static_cast<size_t>(o.k));
  EigshStats st;
  s = Eigsh(*op, o, Control(), values.data(), vectors.data(), res.data(), &st);
  if (s.kind == ErrKind::NoConvergence) {
    if (s.info < 0 || s.info > o.k) return Bug("converged count out of range");
    values.resize(size_t(s.info));
    res.resize(size_t(s.info));
    vectors.resize(size_t(s.info * n));
  } else if (!s.ok()) {
    return Refused(s);
  }
  if (!AllFinite(values.data(), values.size()) || !AllFinite(res.data(), res.size()) ||
      !AllFinite(vectors.data(), vectors.size()))
    return Bug("non-finite eigenpair");
  for (size_t j = 0; j < values.size(); ++j) {
    double nrm = 0;
    for (int64_t i = 0; i < n; ++i) nrm += vectors[j * size_t(n) + size_t(i)] * vectors[j * size_t(n) + size_t(i)];
    if (std::fabs(nrm - 1) > 1e-6) return Bug("eigenvector not of unit norm");
  }
  return Fine();
}

Outcome DensityTarget(Reader& r) {
  const Precision p = r.Bool() ? Precision::F32 : Precision::F64;
  Mat m;
  std::unique_ptr<SymOperator> op;
  Status s = MakeOperator(r, &m, p, &op);
  if (!s.ok()) return Refused(s);
  SlqOptions o;
  o.probes = r.Int(2, 6);
  o.steps = r.Int(2, 30);
  o.seed = r.U16();
  o.bins = r.Int(1, 12);
  if (r.Bool()) {
    double e = r.Int(-20, 0);
    for (int64_t i = 0; i <= o.bins; ++i) o.edges.push_back(e += double(r.Int(1, 8)));
  }
  SlqResult res;
  s = SpectralDensity(*op, o, Control(), &res);
  if (!s.ok()) return Refused(s);
  if (res.mass.size() != size_t(o.bins) || res.edges.size() != size_t(o.bins + 1)) return Bug("wrong bin count");
  double total = 0;
  for (double v : res.mass) {
    if (!std::isfinite(v) || v < -1e-12) return Bug("mass negative or non-finite");
    total += v;
  }
  if (o.edges.empty() && std::fabs(total - 1) > 1e-6) return Bug("mass does not sum to 1 on the automatic grid");
  if (total > 1 + 1e-6) return Bug("mass above 1");
  return Fine();
}

Outcome SgemmTarget(Reader& r) {
  GemmBatch g;
  g.batch = r.Int(-1, 4);
  g.m = r.Int(-1, 6);
  g.n = r.Int(-1, 6);
  g.k = r.Int(-1, 6);
  g.transA = r.Bool();
  g.transB = r.Bool();
  // Buffer lengths near the right ones, off by a little on purpose.
  auto len = [&](int64_t want) { return std::max<int64_t>(0, want + r.Int(-2, 2) * (r.Bool() ? 1 : want)); };
  const int64_t b = std::max<int64_t>(g.batch, 0), m = std::max<int64_t>(g.m, 0), n = std::max<int64_t>(g.n, 0),
                k = std::max<int64_t>(g.k, 0);
  std::vector<float> A(size_t(len(b * m * k))), B(size_t(len(b * k * n))), out(size_t(len(b * m * n)));
  std::vector<float> bias(size_t(r.Int(0, 40))), prelu(size_t(r.Int(0, 40)));
  for (auto& v : A) v = float(r.Value());
  for (auto& v : B) v = float(r.Value());
  for (auto& v : bias) v = float(r.Value());
  for (auto& v : prelu) v = float(r.Value());
  std::vector<int32_t> ai(static_cast<size_t>(b)), bi(static_cast<size_t>(b));
  for (auto& v : ai) v = int32_t(r.Int(-1, 5));
  for (auto& v : bi) v = int32_t(r.Int(-1, 5));
  g.a = A.data();
  g.aLen = int64_t(A.size());
  g.b = B.data();
  g.bLen = int64_t(B.size());
  g.out = out.data();
  g.outLen = int64_t(out.size());
  if (r.Bool()) g.aIndex = ai.data();
  if (r.Bool()) g.bIndex = bi.data();
  if (r.Bool()) {
    g.bias = bias.data();
    g.biasLen = int64_t(bias.size());
  }
  g.act = Activation(r.Int(0, 6));
  g.alpha = float(r.Value());
  if (r.Bool()) {
    g.prelu = prelu.data();
    g.preluLen = int64_t(prelu.size());
  }
  Status s = SgemmBatch(g);
  return s.ok() ? Fine() : Refused(s);
}

Outcome ElementwiseTarget(Reader& r) {
  const int which = int(r.Int(0, 2));
  std::vector<float> a(size_t(r.Int(0, 24))), b(size_t(r.Int(0, 24))), out(size_t(r.Int(0, 48)));
  for (auto& v : a) v = float(r.Value());
  for (auto& v : b) v = float(r.Value());
  Status s;
  if (which == 0) {
    const int rank = int(r.Int(0, 4));
    std::vector<int32_t> shape(static_cast<size_t>(rank)), as(static_cast<size_t>(rank)), bs(static_cast<size_t>(rank));
    for (int d = 0; d < rank; ++d) {
      shape[size_t(d)] = int32_t(r.Int(-1, 5));
      as[size_t(d)] = r.U8() == 255 ? INT32_MAX : int32_t(r.Int(-1, 8));
      bs[size_t(d)] = int32_t(r.Int(-1, 8));
    }
    s = BinaryF32(BinaryOp(r.Int(0, 6)), a.data(), int64_t(a.size()), b.data(), int64_t(b.size()), out.data(),
                  int64_t(out.size()), rank, rank ? shape.data() : nullptr, rank ? as.data() : nullptr,
                  rank ? bs.data() : nullptr);
  } else if (which == 1) {
    s = UnaryF32(UnaryOp(r.Int(0, 13)), a.data(), int64_t(a.size()), out.data(), int64_t(out.size()), float(r.Value()));
  } else {
    s = SumF32(a.data(), int64_t(a.size()), r.Int(-1, 6), r.Int(-1, 6), r.Int(-1, 6), out.data(), int64_t(out.size()));
  }
  return s.ok() ? Fine() : Refused(s);
}

Outcome FormatTarget(Reader& r) {
  const double v = r.Value();
  const std::string s = FormatNumber(v);
  if (std::isnan(v)) return s == "NaN" ? Fine() : Bug("NaN written as " + s);
  if (std::isinf(v)) return s == (v > 0 ? "Infinity" : "-Infinity") ? Fine() : Bug("Infinity written as " + s);
  const double back = std::strtod(s.c_str(), nullptr);
  return back == v ? Fine() : Bug(s + " does not read back as the value");
}

}  // namespace

const std::vector<std::string>& Targets() {
  static const std::vector<std::string> t = {"gram",    "distance", "eigen",       "svd",   "eigsh",
                                             "density", "sgemm",    "elementwise", "format"};
  return t;
}

Outcome Run(const std::string& target, const uint8_t* data, size_t size) {
  Reader r(data, size);
  try {
    if (target == "gram") return GramTarget(r, false);
    if (target == "distance") return GramTarget(r, true);
    if (target == "eigen") return EigenTarget(r);
    if (target == "svd") return SvdTarget(r);
    if (target == "eigsh") return EigshTarget(r);
    if (target == "density") return DensityTarget(r);
    if (target == "sgemm") return SgemmTarget(r);
    if (target == "elementwise") return ElementwiseTarget(r);
    if (target == "format") return FormatTarget(r);
  } catch (const std::exception& e) {
    return Bug(std::string("C++ exception: ") + e.what());
  }
  return Bug("unknown fuzz target '" + target + "'");
}

}  // namespace harness
}  // namespace specdyn
