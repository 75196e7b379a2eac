// N-API glue for the iterative solvers (native/kernels/eigsh.h, slq.h, operators.h): eigsh, svds and
// spectralDensity on a dense symmetric Mat or an implicit operator descriptor
// ({ kind: 'gram', w, side } | { kind: 'distance', x, metric }). An optional Int32Array control
// block carries the cancel flag in and progress out (see Control).
#include <cblas.h>

#include <cmath>
#include <cstdio>

#include "../kernels/blas_gate.h"
#include "../kernels/checks.h"
#include "../kernels/eigsh.h"
#include "../kernels/scale.h"
#include "../kernels/slq.h"
#include "args.h"
#include "bindings.h"
#include "op.h"

namespace specdyn {
namespace {

enum class OpKind { Dense, Gram, Distance };

// What the solver multiplies by, parsed on the main thread and built on the worker.
struct OperatorArg {
  OpKind kind = OpKind::Dense;
  MatArg mat;
  bool outer = true;
  Metric metric = Metric::SqEuclidean;
  int64_t n = 0;
};

Metric ParseDistanceMetric(Napi::Env env, Napi::Value m, const std::string& name) {
  return ParseChoice<Metric>(
      env, m, name,
      {{"sqeuclidean", Metric::SqEuclidean}, {"cosine", Metric::Cosine}, {"correlation", Metric::Correlation}},
      "(metrics with a Gram form; pass the dense distanceMatrix for the others)");
}

OperatorArg ParseOperator(Napi::Env env, Napi::Value v) {
  OperatorArg op;
  if (v.IsObject() && !v.IsArray() && !v.IsTypedArray() && v.As<Napi::Object>().Has("kind")) {
    Napi::Object o = v.As<Napi::Object>();
    enum class Kind { Gram, Distance };
    const Kind k =
        ParseChoice<Kind>(env, o.Get("kind"), "a.kind", {{"gram", Kind::Gram}, {"distance", Kind::Distance}});
    if (k == Kind::Gram) {
      op.kind = OpKind::Gram;
      op.mat = ParseMat(env, o.Get("w"), "a.w");
      Napi::Value side = o.Get("side");
      if (!side.IsUndefined()) op.outer = ParseChoice<bool>(env, side, "a.side", {{"outer", true}, {"inner", false}});
      op.n = op.outer ? op.mat.view.rows : op.mat.view.cols;
    } else {
      op.kind = OpKind::Distance;
      op.mat = ParseMat(env, o.Get("x"), "a.x");
      Napi::Value m = o.Get("metric");
      op.metric = m.IsUndefined() ? Metric::SqEuclidean : ParseDistanceMetric(env, m, "a.metric");
      op.n = op.mat.view.rows;
    }
    return op;
  }
  op.mat = ParseMat(env, v, "a");
  RequireSquare(env, op.mat);
  op.n = op.mat.view.rows;
  return op;
}

double OperatorBytes(const OperatorArg& a, Precision p) {
  switch (a.kind) {
    case OpKind::Dense: return DenseOperatorBytes(a.mat.view, p);
    case OpKind::Gram: return GramOperatorBytes(a.mat.view, a.outer, p);
    case OpKind::Distance: return DistanceOperatorBytes(a.mat.view, p);
  }
  return 0;
}

Status BuildOperator(const OperatorArg& a, Precision p, double symTol, std::unique_ptr<SymOperator>* out) {
  if (a.kind == OpKind::Gram) return GramOperator(a.mat.view, a.outer, p, out);  // checks finiteness as it copies
  Status s = CheckFinite(a.mat.view);
  if (!s.ok()) return s;
  switch (a.kind) {
    case OpKind::Dense:
      s = CheckSymmetric(a.mat.view, symTol);
      if (s.ok()) s = CheckDenseOperatorRange(a.mat.view, p);
      if (!s.ok()) return s;
      *out = DenseOperator(a.mat.view, p);
      return Status::Ok();
    case OpKind::Gram: break;  // above
    case OpKind::Distance: return MakeDistanceOperator(a.mat.view, a.metric, p, out);
  }
  return Status::Ok();
}

// The control block: an Int32Array of at least kControlSlots elements, or undefined.
int32_t* ParseControl(Napi::Env env, Napi::Value v, Op* op) {
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      v.As<Napi::TypedArray>().ElementLength() < size_t(kControlSlots))
    ThrowType(env, "an Int32Array of at least 4 elements", "control", Describe(v));
  op->Pin(v.As<Napi::Object>());
  return v.As<Napi::Int32Array>().Data();
}

uint64_t ParseSeed(Napi::Env env, Napi::Object opts, const std::string& fn) {
  Napi::Value v = opts.Get("seed");
  if (v.IsUndefined()) return 0;
  return uint64_t(ParseInteger(env, v, fn + " option 'seed'", 0, (int64_t(1) << 53) - 1));
}

// What eigsh, svds and spectralDensity share: the operator, its precision and tolerance, and
// the cancel/progress control block.
class IterativeOp : public Op {
 public:
  IterativeOp(OperatorArg a, Precision p, double symTol) : a_(std::move(a)), p_(p), symTol_(symTol) {
    Input(a_.mat, &a_.mat.view);
  }
  void SetControl(int32_t* slots) { ctl_.slots = slots; }
  const int32_t* CancelFlag() const override { return ctl_.slots; }

 protected:
  Status Build(std::unique_ptr<SymOperator>* op) { return BuildOperator(a_, p_, symTol_, op); }
  OperatorArg a_;
  Precision p_;
  double symTol_;
  Control ctl_;
};

// ------------------------------------------------------------------------------ eigsh / svds

// Operators of fewer entries than this (32 MiB in float64) run single-vector Lanczos on one
// BLAS thread beside other work, or, when the caller asks for it (`_threadedIfIdle`, which
// eigsh and svds set while no other process keeps a core busy: src/machine-load.ts), threaded
// while the gate is idle (EigshOp::Flops, ThreadedMin).
constexpr double kThreadedOperatorEntries = double(1 << 22);

class EigshOp : public IterativeOp {
 public:
  EigshOp(OperatorArg a, Precision p, double symTol, EigshOptions o, bool vectors, bool svd, bool threadedIfIdle)
      : IterativeOp(std::move(a), p, symTol),
        o_(o),
        wantVectors_(vectors),
        svd_(svd),
        threadedIfIdle_(threadedIfIdle) {}
  // For the BLAS gate: single-vector Lanczos makes only BLAS-2 calls (the product's two ?gemv,
  // the Gram–Schmidt ?gemv on n x cols), and below kThreadedOperatorEntries handing each to a
  // second OpenBLAS thread costs more CPU than it saves: X Xᵀ with X 3000 x 200, k = 10 took 40 ms
  // of CPU threaded against 31 single (8000 x 200: 147 against 117; 20 000 x 200: even), with the
  // same products. Such a solve counts as small (single-threaded, beside other small calls)
  // unless threadedIfIdle_: the threads then cut its wall time (X Xᵀ with X 3000 x 750 on an
  // idle 2-core EPYC: 1.9–2.7x; docs/performance.md), so it takes them opportunistically, only
  // while no other BLAS work runs or waits, and never waits for them. Block Lanczos and larger
  // operators run threaded, alone.
  double Entries() const { return a_.kind == OpKind::Dense ? double(a_.n) * double(a_.n) : double(a_.mat.view.size()); }
  bool SmallSingleVector() const {
    int64_t b, m;
    EigshSizes(a_.n, o_, &b, &m);
    return b == 1 && Entries() < kThreadedOperatorEntries;
  }
  double Flops() const override {
    if (!SmallSingleVector()) return IterativeOp::Flops();
    return std::min(kThreadedMinFlops / 2, std::max(1e6, 4 * Entries()));
  }
  double ThreadedMin() const override { return threadedIfIdle_ && SmallSingleVector() ? 1e6 : 0; }
  Status Run() override {
    std::unique_ptr<SymOperator> op;
    Status s = Build(&op);
    if (!s.ok()) return s;
    const int64_t n = op->Size(), k = o_.k;
    values_.resize(static_cast<size_t>(k));
    residuals_.resize(static_cast<size_t>(k));
    if (wantVectors_ || svd_) vectors_.resize(static_cast<size_t>(k * n));
    s = Eigsh(*op, o_, ctl_, values_.data(), vectors_.empty() ? nullptr : vectors_.data(), residuals_.data(), &stats_);
    // Out of restarts, the converged pairs (the first s.info slots) travel with the error.
    const bool partial = s.kind == ErrKind::NoConvergence;
    if (!(s.ok() || partial)) return s;
    // A scaled operator (operators.h ScaleExp): eigenvalues and residuals are 2^se times those
    // found; svds takes square roots, exactly 2^(se/2) times those of the scaled values.
    const int se = op->ScaleExp();
    if (!svd_ && se != 0) {
      Status r = CheckResultRange(stats_.normEstimate, se, "eigenvalues", a_.mat.view.name,
                                  se > 0 ? "entries too large: rescale the input"
                                         : "entries too small: rescale the input, or use svds, whose singular "
                                           "values are the square roots");
      if (!r.ok()) return r;
      for (auto& v : values_) v = std::ldexp(v, se);
      for (auto& v : residuals_) v = std::ldexp(v, se);
      stats_.normEstimate = std::ldexp(stats_.normEstimate, se);
    }
    if (!svd_) return s;
    if (partial) {
      s.routine = "svds";
      s.message.replace(s.message.find("eigsh"), 5, "svds");
    }
    count_ = partial ? s.info : k;
    // svds: the eigenvectors of the smaller Gram side are one set of singular vectors; the
    // other set is W v / σ (or Wᵀ u / σ), one GEMM, never forming W Wᵀ.
    const MatView& w = a_.mat.view;
    const int64_t m = a_.outer ? w.cols : w.rows, c = count_;
    other_.assign(static_cast<size_t>(k * m), 0.0);
    if (c == 0) return s;
    std::vector<double> wd;
    const double* wp;
    if (w.f32) {
      wd.resize(static_cast<size_t>(w.size()));
      for (int64_t i = 0; i < w.size(); ++i) wd[i] = static_cast<const float*>(w.data)[i];
      wp = wd.data();
    } else {
      wp = static_cast<const double*>(w.data);
    }
    // vectors_ is k x n row-major = column-major n x k.
    if (a_.outer)  // v_i = Wᵀ u_i: other (c x cols) = U (c x rows) W
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(c), int(w.cols), int(w.rows), 1.0, vectors_.data(),
                  int(w.rows), wp, int(w.cols), 0.0, other_.data(), int(w.cols));
    else  // u_i = W v_i: other (c x rows) = V (c x cols) Wᵀ
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(c), int(w.rows), int(w.cols), 1.0, vectors_.data(),
                  int(w.cols), wp, int(w.cols), 0.0, other_.data(), int(w.rows));
    for (int64_t i = 0; i < c; ++i) {
      const double sigma = std::sqrt(std::max(0.0, values_[i]));
      double* row = other_.data() + i * m;
      const double nrm = cblas_dnrm2(int(m), row, 1);
      // Normalise by the computed norm (= σ up to rounding); zero singular values stay zero.
      if (nrm > 0) cblas_dscal(int(m), 1.0 / nrm, row, 1);
      double& r = residuals_[i];
      if (sigma > 0) r /= sigma;
      values_[i] = std::ldexp(sigma, se / 2);
      r = std::ldexp(r, se / 2);
    }
    stats_.normEstimate = std::ldexp(stats_.normEstimate, se);  // of W Wᵀ: may be out of range
    if (c > 0 && !std::isfinite(values_[0]))
      return CheckResultRange(std::sqrt(std::max(0.0, stats_.normEstimate)), se / 2, "singular values", w.name,
                              "entries too large: rescale the input");
    return s;
  }
  // NoConvergenceError carries the pairs that converged: values (eigsh: eigenvalues; svds:
  // singular values), vectors (eigsh) or u and v (svds), residuals, and how many were wanted.
  Napi::Value Error(Napi::Env env, const Status& s) override {
    if (s.kind != ErrKind::NoConvergence) return MakeError(env, s);
    const int64_t c = s.info;
    Napi::Object d = Napi::Object::New(env);
    d.Set("wanted", Napi::Number::New(env, double(o_.k)));
    d.Set("values", Copy(env, values_, c));
    d.Set("residuals", Copy(env, residuals_, c));
    const int64_t n = a_.n;
    if (svd_) {
      const MatView& w = a_.mat.view;
      const int64_t m = a_.outer ? w.cols : w.rows;
      Napi::Object side = MatObject(env, Copy(env, vectors_, c * n), c, n);
      Napi::Object other = MatObject(env, Copy(env, other_, c * m), c, m);
      d.Set("u", a_.outer ? side : other);
      d.Set("v", a_.outer ? other : side);
    } else if (wantVectors_) {
      d.Set("vectors", MatObject(env, Copy(env, vectors_, c * n), c, n));
    }
    return MakeError(env, s, d);
  }
  Napi::Value Result(Napi::Env env) override {
    const int64_t k = o_.k;
    auto copy = [&](const std::vector<double>& v) {
      Napi::Float64Array a = NewResult(env, int64_t(v.size()));
      std::copy(v.begin(), v.end(), a.Data());
      return a;
    };
    Napi::Object o = Napi::Object::New(env);
    if (svd_) {
      const MatView& w = a_.mat.view;
      o.Set("s", copy(values_));
      Napi::Object side = MatObject(env, copy(vectors_), k, a_.outer ? w.rows : w.cols);
      Napi::Object other = MatObject(env, copy(other_), k, a_.outer ? w.cols : w.rows);
      o.Set("u", a_.outer ? side : other);
      o.Set("v", a_.outer ? other : side);
    } else {
      o.Set("values", copy(values_));
      if (wantVectors_) o.Set("vectors", MatObject(env, copy(vectors_), k, a_.n));
    }
    o.Set("residuals", copy(residuals_));
    o.Set("restarts", Napi::Number::New(env, double(stats_.restarts)));
    o.Set("matvecs", Napi::Number::New(env, double(stats_.matvecs)));
    o.Set("blockSize", Napi::Number::New(env, double(stats_.block)));
    o.Set("basisSize", Napi::Number::New(env, double(stats_.basis)));
    o.Set("normEstimate", Napi::Number::New(env, stats_.normEstimate));
    if (!svd_) {
      o.Set("method", Napi::String::New(env, stats_.gram ? "gram" : "lanczos"));
      o.Set("gramMatvecs", Napi::Number::New(env, double(stats_.gramMatvecs)));
    }
    return o;
  }

 private:
  static Napi::Float64Array Copy(Napi::Env env, const std::vector<double>& v, int64_t count) {
    Napi::Float64Array a = NewResult(env, count);
    std::copy(v.begin(), v.begin() + count, a.Data());
    return a;
  }
  EigshOptions o_;
  bool wantVectors_, svd_, threadedIfIdle_;
  int64_t count_ = 0;
  std::vector<double> values_, residuals_, vectors_, other_;
  EigshStats stats_;
};

Napi::Value EigshLike(const Napi::CallbackInfo& info, bool svd) {
  Napi::Env env = info.Env();
  const std::string fn = svd ? "svds" : "eigsh";
  OperatorArg a;
  if (svd) {
    a.kind = OpKind::Gram;
    a.mat = ParseMat(env, info[0], "w");
    a.outer = a.mat.view.rows <= a.mat.view.cols;  // the smaller Gram side
    a.n = a.outer ? a.mat.view.rows : a.mat.view.cols;
  } else {
    a = ParseOperator(env, info[0]);
  }
  Napi::Object opts = ParseOptions(env, info[1], fn + " options");
  Precision p = ParsePrecision(env, opts, fn);
  EigshOptions o;
  const int64_t n = a.n;
  o.k = opts.Get("k").IsUndefined() ? std::min<int64_t>(6, n)
                                    : ParseInteger(env, opts.Get("k"), fn + " option 'k'", 1, n);
  Napi::Value which = opts.Get("which");
  if (!svd && !which.IsUndefined())
    o.which = ParseChoice<Which>(
        env, which, OptionName(fn, "which"),
        {{"largest", Which::Largest}, {"smallest", Which::Smallest}, {"magnitude", Which::Magnitude}});
  o.tol = ParseNonNegative(env, opts, "tol", fn, p == Precision::F64 ? 1e-10 : 1e-5);
  // Below the round-off of the products no residual test can pass (tol: 0 would run every
  // restart); a tol above that but still unattainable ends as a stall (kernels/eigsh.cc).
  const double minTol = p == Precision::F64 ? 0x1p-52 : 0x1p-23;
  o.roundoff = p == Precision::F64 ? 0x1p-52 : 0x1p-24;
  if (o.tol < minTol)
    ThrowRange(env,
               "a number of at least " + FormatNumber(minTol) + " (the round-off of " +
                   (p == Precision::F64 ? "float64" : "float32") + " products)",
               OptionName(fn, "tol"), Describe(opts.Get("tol")));
  if (!opts.Get("blockSize").IsUndefined())
    o.block = ParseInteger(env, opts.Get("blockSize"), fn + " option 'blockSize'", 1, n);
  if (!opts.Get("basisSize").IsUndefined())
    o.basis = ParseInteger(env, opts.Get("basisSize"), fn + " option 'basisSize'", std::min<int64_t>(2, n), n);
  if (!opts.Get("maxRestarts").IsUndefined())
    o.maxRestarts = ParseInteger(env, opts.Get("maxRestarts"), fn + " option 'maxRestarts'", 1, INT32_MAX);
  o.seed = ParseSeed(env, opts, fn);
  o.preferBlocks = a.kind == OpKind::Dense;
  // The small-Gram route (kernels/eigsh.cc) of a float64 Gram operator of its larger side.
  const int64_t rank = a.outer ? a.mat.view.cols : a.mat.view.rows;
  const bool gramRoute = !svd && a.kind == OpKind::Gram && p == Precision::F64 && GramRouteApplies(n, rank, o);
  if (!svd && !opts.Get("method").IsUndefined()) {
    o.route = ParseChoice<Route>(env, opts.Get("method"), OptionName(fn, "method"),
                                 {{"auto", Route::Auto}, {"lanczos", Route::Lanczos}, {"gram", Route::Gram}});
    if (o.route == Route::Gram && !gramRoute)
      ThrowRange(env,
                 "'auto' or 'lanczos' (the 'gram' route needs a float64 gramOperator whose smaller side is below "
                 "its order, k below that side, which 'largest' or 'magnitude' and blockSize at most 1; here " +
                     (a.kind == OpKind::Gram ? "the sides are " + std::to_string(rank) + " and " + std::to_string(n)
                                             : std::string("the operator is not a gramOperator")) +
                     ", k " + std::to_string(o.k) + ")",
                 OptionName(fn, "method"), "'gram'");
  }
  const bool vectors = svd || ParseBool(env, opts, "vectors", fn, true);
  const double symTol =
      a.kind == OpKind::Dense ? ParseNonNegative(env, opts, "symmetryTolerance", fn, DefaultSymTol(a.mat.view)) : 0.0;
  const double out =
      8.0 * double(o.k) * (double(n) + 2.0) + (svd ? 16.0 * double(o.k) * double(a.mat.view.rows + a.mat.view.cols) +
                                                         (a.mat.view.f32 ? 8.0 * double(a.mat.view.size()) : 0.0)
                                                   : 0.0);
  CheckFits(env,
            out + EigshWorkBytes(n, o) + OperatorBytes(a, p) +
                (gramRoute && o.route != Route::Lanczos ? GramRouteBytes(n, rank, o) : 0.0),
            0, a.mat);
  // Internal (set by src/linalg/iterative.ts, not a documented option): see kThreadedOperatorEntries.
  const bool threadedIfIdle = ParseBool(env, opts, "_threadedIfIdle", fn, false);
  auto op = std::make_unique<EigshOp>(a, p, symTol, o, vectors, svd, threadedIfIdle);
  op->SetControl(ParseControl(env, info[2], op.get()));
  return Dispatch(env, std::move(op), IsAsync(info, 3), svd ? "svds" : "eigsh");
}

Napi::Value EigshFn(const Napi::CallbackInfo& info) { return EigshLike(info, false); }
Napi::Value SvdsFn(const Napi::CallbackInfo& info) { return EigshLike(info, true); }

// ------------------------------------------------------------------------------ density

class DensityOp : public IterativeOp {
 public:
  DensityOp(OperatorArg a, Precision p, double symTol, SlqOptions o)
      : IterativeOp(std::move(a), p, symTol), o_(std::move(o)) {}
  Status Run() override {
    std::unique_ptr<SymOperator> op;
    Status s = Build(&op);
    if (!s.ok()) return s;
    // A scaled operator (operators.h ScaleExp): the grid goes in in its units, edges and the
    // extreme Ritz values come out multiplied back; the caller's own edges are returned as given.
    const int se = op->ScaleExp();
    SlqOptions o = o_;
    for (auto& e : o.edges) e = std::ldexp(e, -se);
    s = SpectralDensity(*op, o, ctl_, &res_);
    if (!s.ok() || se == 0) return s;
    s = CheckResultRange(std::fmax(std::fabs(res_.lo), std::fabs(res_.hi)), se, "eigenvalues", a_.mat.view.name,
                         se > 0 ? "entries too large: rescale the input" : "entries too small: rescale the input");
    if (!s.ok()) return s;
    res_.lo = std::ldexp(res_.lo, se);
    res_.hi = std::ldexp(res_.hi, se);
    if (!o_.edges.empty())
      res_.edges = o_.edges;
    else
      for (auto& e : res_.edges) e = std::ldexp(e, se);
    return s;
  }
  Napi::Value Result(Napi::Env env) override {
    auto copy = [&](const std::vector<double>& v) {
      Napi::Float64Array a = NewResult(env, int64_t(v.size()));
      std::copy(v.begin(), v.end(), a.Data());
      return a;
    };
    Napi::Object o = Napi::Object::New(env);
    o.Set("edges", copy(res_.edges));
    o.Set("mass", copy(res_.mass));
    o.Set("stderr", copy(res_.stderr_));
    o.Set("bias", copy(res_.bias));
    o.Set("lo", Napi::Number::New(env, res_.lo));
    o.Set("hi", Napi::Number::New(env, res_.hi));
    o.Set("matvecs", Napi::Number::New(env, double(res_.matvecs)));
    o.Set("n", Napi::Number::New(env, double(a_.n)));
    return o;
  }

 private:
  SlqOptions o_;
  SlqResult res_;
};

Napi::Value SpectralDensityFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "spectralDensity";
  OperatorArg a = ParseOperator(env, info[0]);
  Napi::Object opts = ParseOptions(env, info[1], fn + " options");
  Precision p = ParsePrecision(env, opts, fn);
  SlqOptions o;
  if (!opts.Get("probes").IsUndefined())
    o.probes = ParseInteger(env, opts.Get("probes"), fn + " option 'probes'", 2, 4096);
  if (!opts.Get("steps").IsUndefined())
    o.steps = ParseInteger(env, opts.Get("steps"), fn + " option 'steps'", 2, 100000);
  o.seed = ParseSeed(env, opts, fn);
  Napi::Value grid = opts.Get("grid");
  if (!grid.IsUndefined()) {
    const std::string name = fn + " option 'grid'";
    const char* what = "an ascending array of at least 2 finite bin edges";
    if (!grid.IsArray() && !(grid.IsTypedArray() && grid.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array))
      ThrowType(env, what, name, Describe(grid));
    Napi::Object g = grid.As<Napi::Object>();
    const uint32_t len =
        grid.IsArray() ? grid.As<Napi::Array>().Length() : uint32_t(grid.As<Napi::TypedArray>().ElementLength());
    if (len < 2) ThrowRange(env, what, name, Describe(grid));
    for (uint32_t i = 0; i < len; ++i) {
      Napi::Value e = g.Get(i);
      if (!e.IsNumber()) ThrowType(env, what, name, Describe(grid));
      const double d = e.As<Napi::Number>().DoubleValue();
      if (!std::isfinite(d) || (i > 0 && !(d > o.edges.back())))
        ThrowRange(env, what, name + "[" + std::to_string(i) + "]", Describe(e));
      o.edges.push_back(d);
    }
    o.bins = int64_t(o.edges.size()) - 1;
    if (!opts.Get("bins").IsUndefined())
      ThrowType(env, "undefined when 'grid' is given", fn + " option 'bins'", Describe(opts.Get("bins")));
  } else if (!opts.Get("bins").IsUndefined()) {
    o.bins = ParseInteger(env, opts.Get("bins"), fn + " option 'bins'", 1, 1 << 20);
  }
  const double symTol =
      a.kind == OpKind::Dense ? ParseNonNegative(env, opts, "symmetryTolerance", fn, DefaultSymTol(a.mat.view)) : 0.0;
  CheckFits(env, SlqWorkBytes(a.n, o) + OperatorBytes(a, p), 0, a.mat);
  auto op = std::make_unique<DensityOp>(a, p, symTol, std::move(o));
  op->SetControl(ParseControl(env, info[2], op.get()));
  return Dispatch(env, std::move(op), IsAsync(info, 3), "spectralDensity");
}

}  // namespace

void RegisterIterative(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "eigsh", EigshFn);
  Export(env, exports, "svds", SvdsFn);
  Export(env, exports, "spectralDensity", SpectralDensityFn);
}

}  // namespace specdyn
