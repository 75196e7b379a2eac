// N-API glue for the kernels: parse and check arguments on the main thread, allocate results,
// then hand one Op to Dispatch.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>

#include "../kernels/blas_gate.h"
#include "../kernels/checks.h"
#include "../kernels/distance.h"
#include "../kernels/eigen.h"
#include "../kernels/svd.h"
#include "../kernels/threads.h"
#include "args.h"
#include "bindings.h"
#include "op.h"

namespace specdyn {
namespace {

// The caller's out buffer, or a new one; n x n float64 either way.
Napi::Float64Array SquareOutput(Napi::Env env, Napi::Value out, const std::string& fn, const MatArg& x) {
  const int64_t n = x.view.rows;
  if (out.IsUndefined()) return NewResult(env, n * n);
  const std::string name = fn + " option 'out'";
  if (!out.IsTypedArray() || out.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    ThrowType(env, "a Float64Array", name, Describe(out));
  auto arr = out.As<Napi::Float64Array>();
  if (int64_t(arr.ElementLength()) != n * n) {
    char what[64];
    std::snprintf(what, sizeof what, "a Float64Array of length %lld", static_cast<long long>(n * n));
    ThrowRange(env, what, name, Describe(out));
  }
  // The kernel reads rows of x while it writes out: the two must not share memory.
  const auto* o0 = reinterpret_cast<const unsigned char*>(arr.Data());
  const auto* x0 = static_cast<const unsigned char*>(x.view.data);
  const size_t xBytes = size_t(x.view.size()) * (x.view.f32 ? 4 : 8);
  if (o0 < x0 + xBytes && x0 < o0 + arr.ByteLength())
    ThrowRange(env, "a buffer that does not overlap x.data", name, "a view of the same memory");
  return arr;
}

class GramOp : public Op {
 public:
  // userOut: the caller's `out` buffer when the kernel cannot write into it directly (an async
  // call on a detachable buffer): the result is copied into it when the call completes.
  // outPin: the pinned block of an `out` that is one of specdyn's own results, written in
  // place by an async call (kernels/memory.h); unpinned when the Op ends.
  GramOp(const MatArg& x, Precision p, Napi::Float64Array out, Napi::Float64Array userOut, Metric metric, bool distance,
         void* outPin)
      : x_(x.view), p_(p), out_(out.Data()), metric_(metric), distance_(distance), outPin_(outPin) {
    Input(x, &x_);
    outRef_ = Napi::Persistent(out);
    if (!userOut.IsEmpty()) userOut_ = Napi::Persistent(userOut);
  }
  ~GramOp() override {
    if (outPin_) UnpinExternal(outPin_);
  }
  // The kernels check the input (CheckInput) in the pass that scales it (distance.h).
  Status Run() override { return distance_ ? Distance(x_, metric_, p_, out_) : Gram(x_, p_, out_); }
  double Flops() const override { return double(x_.rows) * double(x_.rows) * double(x_.cols); }
  Napi::Value Result(Napi::Env env) override {
    const size_t nn = size_t(x_.rows) * size_t(x_.rows);
    if (outPin_ && outRef_.Value().ElementLength() != nn)  // transferred away mid-call
      ThrowRange(env, "a Float64Array of length " + std::to_string(nn) + ", unchanged during the call", "option 'out'",
                 "length " + std::to_string(outRef_.Value().ElementLength()) + " (detached or resized)");
    if (userOut_.IsEmpty()) return MatObject(env, outRef_.Value(), x_.rows, x_.rows);
    Napi::Float64Array dst = userOut_.Value();
    const size_t n = size_t(x_.rows) * size_t(x_.rows);
    if (dst.ElementLength() != n)
      ThrowRange(env, "a Float64Array of length " + std::to_string(n) + ", unchanged during the call", "option 'out'",
                 "length " + std::to_string(dst.ElementLength()) + " (detached or resized)");
    std::memcpy(dst.Data(), out_, n * sizeof(double));
    return MatObject(env, dst, x_.rows, x_.rows);
  }

 private:
  MatView x_;
  Precision p_;
  double* out_;
  Metric metric_;
  bool distance_;
  void* outPin_;
  Napi::Reference<Napi::Float64Array> outRef_, userOut_;
};

Metric ParseMetric(Napi::Env env, Napi::Object opts) {
  Napi::Value m = opts.Get("metric");
  if (m.IsUndefined()) return Metric::Euclidean;
  return ParseChoice<Metric>(env, m, OptionName("distanceMatrix", "metric"),
                             {{"euclidean", Metric::Euclidean},
                              {"sqeuclidean", Metric::SqEuclidean},
                              {"cosine", Metric::Cosine},
                              {"angular", Metric::Angular},
                              {"correlation", Metric::Correlation}});
}

Napi::Value GramLike(const Napi::CallbackInfo& info, bool distance) {
  Napi::Env env = info.Env();
  const std::string fn = distance ? "distanceMatrix" : "gram";
  // Options first: their getters may run user code; the input is bound last (op.h).
  Napi::Object opts = ParseOptions(env, info[1], fn + " options");
  Precision p = ParsePrecision(env, opts, fn);
  Metric metric = distance ? ParseMetric(env, opts) : Metric::Euclidean;
  Napi::Value outOpt = opts.Get("out");
  MatArg x = ParseMat(env, info[0], "x");
  const double n = double(x.view.rows);
  // Gram and distance share their temporaries (a widened/narrowed copy, a float32 Gram).
  const double work = DistanceWorkBytes(x.view, metric, p);
  CheckFits(env, 8.0 * n * n + work, 0, x);
  const bool async = IsAsync(info, 2);
  Napi::Float64Array out = SquareOutput(env, outOpt, fn, x), userOut;
  // An async call writes an ordinary ArrayBuffer `out` only when it completes (a transfer could
  // free it mid-call): into a fresh result first, then copied. One of specdyn's own results is
  // pinned instead (its memory outlives a transfer) and written in place: no allocation, no copy,
  // the loop pattern of docs/performance.md.
  void* outPin = nullptr;
  if (async && !outOpt.IsUndefined() && out.ArrayBuffer().IsArrayBuffer()) {
    outPin = PinExternal(out.Data(), out.ByteLength());
    if (!outPin) {
      userOut = out;
      out = NewResult(env, x.view.rows * x.view.rows);
    }
  }
  std::unique_ptr<GramOp> op;
  try {
    op = std::make_unique<GramOp>(x, p, out, userOut, metric, distance, outPin);
  } catch (...) {
    if (outPin) UnpinExternal(outPin);
    throw;
  }
  return Dispatch(env, std::move(op), async, distance ? "distanceMatrix" : "gram");
}

Napi::Value GramFn(const Napi::CallbackInfo& info) { return GramLike(info, false); }
Napi::Value DistanceFn(const Napi::CallbackInfo& info) { return GramLike(info, true); }

class EigenOp : public Op {
 public:
  // allValues: every eigenvalue (values has n entries) with the vectors of [lo, hi].
  EigenOp(MatArg a, Precision p, int64_t lo, int64_t hi, double symTol, Napi::Float64Array values,
          Napi::Float64Array vectors, bool allValues)
      : a_(a.view), p_(p), lo_(lo), hi_(hi), symTol_(symTol), allValues_(allValues) {
    Input(a, &a_);
    values_ = Napi::Persistent(values);
    if (!vectors.IsEmpty()) vectors_ = Napi::Persistent(vectors);
    valuesPtr_ = values.Data();
    vectorsPtr_ = vectors.IsEmpty() ? nullptr : vectors.Data();
  }
  Status Run() override {
    // One pass checks finiteness and symmetry; the safety copy of an async input (op.h), if
    // any, is the matrix LAPACK then works in.
    Status s = CheckSymmetricInput(a_, p_, symTol_);
    if (s.ok())
      s = allValues_ ? EigenAllValues(a_, p_, lo_, hi_, valuesPtr_, vectorsPtr_)
                     : Eigen(a_, p_, lo_, hi_, valuesPtr_, vectorsPtr_, WritableCopy(a_));
    return s;
  }
  // Full float64 eigenvectors: LAPACK works in the vectors output (kernels/eigen.cc), so the
  // safety copy of an async input goes straight there.
  void* CopyTarget(const MatView& v, size_t bytes) override {
    const bool inPlace = vectorsPtr_ && lo_ < 0 && !allValues_ && p_ == Precision::F64 && !a_.f32;
    return inPlace && &v == &a_ && bytes == size_t(a_.rows) * size_t(a_.rows) * sizeof(double) ? vectorsPtr_ : nullptr;
  }
  // Counted at a tenth: the tridiagonal reduction is memory-bound and gains little from a
  // second thread below N ≈ 600 (eigh) or 900 (eigvalsh), measured on 2 cores.
  double Flops() const override {
    const double n = double(a_.rows);
    return 0.1 * (vectors_.IsEmpty() ? 4.0 / 3.0 : 4.0) * n * n * n;
  }
  Napi::Value Result(Napi::Env env) override {
    if (vectors_.IsEmpty()) return values_.Value();
    const int64_t k = lo_ < 0 ? a_.rows : hi_ - lo_ + 1;
    Napi::Object o = Napi::Object::New(env);
    o.Set("values", values_.Value());
    o.Set("vectors", MatObject(env, vectors_.Value(), k, a_.rows));
    return o;
  }

 private:
  MatView a_;
  Precision p_;
  int64_t lo_, hi_;
  double symTol_;
  bool allValues_;
  Napi::Reference<Napi::Float64Array> values_, vectors_;
  double* valuesPtr_;
  double* vectorsPtr_;
};

Napi::Value EigenLike(const Napi::CallbackInfo& info, bool vectors) {
  Napi::Env env = info.Env();
  const std::string fn = vectors ? "eigh" : "eigvalsh";
  Napi::Object opts = ParseOptions(env, info[1], fn + " options");
  Precision p = ParsePrecision(env, opts, fn);
  Napi::Value tol = opts.Get("symmetryTolerance");
  Napi::Value range = opts.Get("range");
  const bool allValues = vectors && ParseBool(env, opts, "allValues", fn, false);
  MatArg a = ParseMat(env, info[0], "a");
  RequireSquare(env, a);
  const double symTol = ParseNonNegative(env, tol, fn + " option 'symmetryTolerance'", DefaultSymTol(a.view));
  const int64_t n = a.view.rows;
  int64_t lo = -1, hi = -1;
  if (!range.IsUndefined()) {
    const std::string name = fn + " option 'range'";
    if (!range.IsArray() || range.As<Napi::Array>().Length() != 2)
      ThrowType(env, "an array [lo, hi] of two eigenvalue indices", name, Describe(range));
    Napi::Array r = range.As<Napi::Array>();
    lo = ParseInteger(env, r.Get(0u), name + "[0]", 0, n - 1);
    hi = ParseInteger(env, r.Get(1u), name + "[1]", lo, n - 1);
  }
  const int64_t k = lo < 0 ? n : hi - lo + 1;
  const bool ranged = lo >= 0;
  // allValues without a range is the full solve, which already returns every value.
  const bool combined = allValues && ranged;
  CheckFits(env,
            8.0 * double(k) * (vectors ? double(n) + 1.0 : 1.0) + (combined ? 8.0 * double(n) : 0.0) +
                (combined ? EigenAllValuesWorkBytes(n, k, p) : EigenWorkBytes(n, p, ranged, vectors)),
            EigenLworkElems(n, ranged, vectors), a);
  Napi::Float64Array values = NewResult(env, combined ? n : k);
  Napi::Float64Array vecs = vectors ? NewResult(env, k * n) : Napi::Float64Array();
  return Dispatch(env, std::make_unique<EigenOp>(a, p, lo, hi, symTol, values, vecs, combined), IsAsync(info, 2),
                  vectors ? "eigh" : "eigvalsh");
}

Napi::Value EigvalshFn(const Napi::CallbackInfo& info) { return EigenLike(info, false); }

// gramEigvalsh(x, { of, precision }, async) -> Float64Array: every eigenvalue of X Xᵀ ('rows')
// or Xᵀ X ('columns'), ascending (GramValues: the Gram matrix never becomes a result).
class GramValuesOp : public Op {
 public:
  GramValuesOp(const MatArg& x, bool columns, Precision p, Napi::Float64Array values)
      : x_(x.view), columns_(columns), p_(p) {
    Input(x, &x_);
    values_ = Napi::Persistent(values);
    valuesPtr_ = values.Data();
  }
  Status Run() override { return GramValues(x_, columns_, p_, valuesPtr_); }
  // The ?syrk, plus the reduction counted as eigvalsh's (EigenOp::Flops).
  double Flops() const override {
    const double n = double(columns_ ? x_.cols : x_.rows), d = double(columns_ ? x_.rows : x_.cols);
    return n * n * d + 0.1 * 4.0 / 3.0 * n * n * n;
  }
  Napi::Value Result(Napi::Env) override { return values_.Value(); }

 private:
  MatView x_;
  bool columns_;
  Precision p_;
  Napi::Reference<Napi::Float64Array> values_;
  double* valuesPtr_;
};

Napi::Value GramEigvalshFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "gramEigvalsh";
  Napi::Object opts = ParseOptions(env, info[1], fn + " options");
  Precision p = ParsePrecision(env, opts, fn);
  Napi::Value of = opts.Get("of");
  MatArg x = ParseMat(env, info[0], "x");
  enum class Side { Smaller, Rows, Columns };
  const Side side =
      of.IsUndefined()
          ? Side::Smaller
          : ParseChoice<Side>(env, of, OptionName(fn, "of"),
                              {{"smaller", Side::Smaller}, {"rows", Side::Rows}, {"columns", Side::Columns}});
  const bool columns = side == Side::Columns || (side == Side::Smaller && x.view.cols < x.view.rows);
  const int64_t n = columns ? x.view.cols : x.view.rows;
  CheckFits(env, 8.0 * double(n) + GramValuesWorkBytes(x.view, columns, p), EigenLworkElems(n, false, false), x);
  Napi::Float64Array values = NewResult(env, n);
  return Dispatch(env, std::make_unique<GramValuesOp>(x, columns, p, values), IsAsync(info, 2), "gramEigvalsh");
}

// The tag of the handles eighReduce returns, so that eighVectors accepts nothing else.
const napi_type_tag kReductionTag = {0x7a3c1f0e5b8d4a21ULL, 0x9e6b2d47c1f03a85ULL};

// eighReduce(a, options, async) -> { values, handle }: the tridiagonal reduction of a, kept in
// a native handle (an External owning the EigenReduction) for eighVectors.
class EigenReduceOp : public Op {
 public:
  EigenReduceOp(MatArg a, Precision p, double symTol, Napi::Float64Array values)
      : a_(a.view), p_(p), symTol_(symTol), red_(new EigenReduction) {
    Input(a, &a_);
    values_ = Napi::Persistent(values);
    valuesPtr_ = values.Data();
  }
  Status Run() override {
    Status s = CheckSymmetricInput(a_, p_, symTol_);
    return s.ok() ? red_->Reduce(a_, p_, valuesPtr_) : s;
  }
  double Flops() const override {
    const double n = double(a_.rows);
    return 0.1 * 4.0 / 3.0 * n * n * n;  // counted as eigvalsh is (see EigenOp::Flops)
  }
  Napi::Value Result(Napi::Env env) override {
    const int64_t bytes = int64_t(EigenReduction::KeptBytes(red_->n(), red_->precision()));
    auto handle = Napi::External<EigenReduction>::New(env, red_.release(), [bytes](Napi::Env e, EigenReduction* r) {
      delete r;
      Napi::MemoryManagement::AdjustExternalMemory(e, -bytes);
    });
    Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
    handle.TypeTag(&kReductionTag);
    Napi::Object o = Napi::Object::New(env);
    o.Set("values", values_.Value());
    o.Set("handle", handle);
    return o;
  }

 private:
  MatView a_;
  Precision p_;
  double symTol_;
  std::unique_ptr<EigenReduction> red_;
  Napi::Reference<Napi::Float64Array> values_;
  double* valuesPtr_;
};

Napi::Value EighReduceFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "eighReduce";
  Napi::Object opts = ParseOptions(env, info[1], fn + " options");
  Precision p = ParsePrecision(env, opts, fn);
  Napi::Value tol = opts.Get("symmetryTolerance");
  MatArg a = ParseMat(env, info[0], "a");
  RequireSquare(env, a);
  const double symTol = ParseNonNegative(env, tol, fn + " option 'symmetryTolerance'", DefaultSymTol(a.view));
  const int64_t n = a.view.rows;
  const double el = p == Precision::F64 ? 8.0 : 4.0;
  CheckFits(env, 8.0 * double(n) + EigenReduction::KeptBytes(n, p) + el * 66.0 * double(n), 64.0 * double(n), a);
  Napi::Float64Array values = NewResult(env, n);
  return Dispatch(env, std::make_unique<EigenReduceOp>(a, p, symTol, values), IsAsync(info, 2), "eighReduce");
}

// eighVectors(handle, options, async) -> Mat (k x n): the eigenvectors of options.range.
class EigenVectorsOp : public Op {
 public:
  EigenVectorsOp(Napi::External<EigenReduction> handle, int64_t lo, int64_t hi, Napi::Float64Array vectors)
      : red_(handle.Data()), lo_(lo), hi_(hi) {
    handle_ = Napi::Persistent(handle);  // the reduction lives at least as long as this call
    vectors_ = Napi::Persistent(vectors);
    vectorsPtr_ = vectors.Data();
  }
  Status Run() override { return red_->Vectors(lo_, hi_, vectorsPtr_); }
  // ?ormtr's 2 n² k plus ?stemr's O(n k): a small operation at the BLAS gate for a few vectors.
  double Flops() const override {
    const double n = double(red_->n());
    return 2.0 * n * n * double(hi_ - lo_ + 1) + 1.0;
  }
  Napi::Value Result(Napi::Env env) override { return MatObject(env, vectors_.Value(), hi_ - lo_ + 1, red_->n()); }

 private:
  const EigenReduction* red_;
  int64_t lo_, hi_;
  Napi::Reference<Napi::External<EigenReduction>> handle_;
  Napi::Reference<Napi::Float64Array> vectors_;
  double* vectorsPtr_;
};

Napi::Value EighVectorsFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "eighVectors";
  Napi::Value h = info[0];
  if (!h.IsExternal() || !h.As<Napi::External<EigenReduction>>().CheckTypeTag(&kReductionTag))
    ThrowType(env, "the handle of an eighReduce result", "reduction.handle", Describe(h));
  auto handle = h.As<Napi::External<EigenReduction>>();
  const int64_t n = handle.Data()->n();
  Napi::Object opts = ParseOptions(env, info[1], fn + " options");
  Napi::Value range = opts.Get("range");
  const std::string name = fn + " option 'range'";
  if (!range.IsArray() || range.As<Napi::Array>().Length() != 2)
    ThrowType(env, "an array [lo, hi] of two eigenvalue indices", name, Describe(range));
  Napi::Array r = range.As<Napi::Array>();
  // [lo, lo − 1] is the empty range (no vectors).
  const int64_t lo = ParseInteger(env, r.Get(0u), name + "[0]", 0, n);
  const int64_t hi = ParseInteger(env, r.Get(1u), name + "[1]", lo - 1, n - 1);
  const int64_t k = hi - lo + 1;
  MatArg shape;  // names the reduced matrix in a memory error
  shape.view.rows = shape.view.cols = n;
  shape.view.name = "reduction";
  CheckFits(env, 8.0 * double(k) * double(n) + EigenReduction::VectorsWorkBytes(n, k, handle.Data()->precision()),
            64.0 * double(std::max<int64_t>(k, n)), shape);
  Napi::Float64Array vectors = NewResult(env, k * n);
  return Dispatch(env, std::make_unique<EigenVectorsOp>(handle, lo, hi, vectors), IsAsync(info, 2), "eighVectors");
}
Napi::Value EighFn(const Napi::CallbackInfo& info) { return EigenLike(info, true); }

class SvdOp : public Op {
 public:
  SvdOp(MatArg w, Precision p, int64_t k, Napi::Float64Array s, Napi::Float64Array u, Napi::Float64Array v)
      : w_(w.view), p_(p), k_(k) {
    Input(w, &w_);
    s_ = Napi::Persistent(s);
    sPtr_ = s.Data();
    if (!u.IsEmpty()) {
      u_ = Napi::Persistent(u);
      v_ = Napi::Persistent(v);
      uPtr_ = u.Data();
      vPtr_ = v.Data();
    }
  }
  Status Run() override {
    Status s = CheckInput(w_, p_);
    if (!s.ok()) return s;
    if (!uPtr_) return Svd(w_, p_, 0, sPtr_, nullptr, nullptr);
    // ?gesdd returns min(rows, cols) values; the caller asked for the top k.
    std::vector<double> all(size_t(std::min(w_.rows, w_.cols)));
    s = Svd(w_, p_, k_, all.data(), uPtr_, vPtr_);
    for (int64_t i = 0; s.ok() && i < k_; ++i) sPtr_[i] = all[size_t(i)];
    return s;
  }
  double Flops() const override {
    const double mn = double(std::min(w_.rows, w_.cols)), mx = double(std::max(w_.rows, w_.cols));
    return 0.1 * (uPtr_ ? 8.0 : 4.0) * mn * mn * mx;  // bidiagonal reduction: as for eigen
  }
  Napi::Value Result(Napi::Env env) override {
    if (u_.IsEmpty()) return s_.Value();
    Napi::Object o = Napi::Object::New(env);
    o.Set("s", s_.Value());
    o.Set("u", MatObject(env, u_.Value(), k_, w_.rows));
    o.Set("v", MatObject(env, v_.Value(), k_, w_.cols));
    return o;
  }

 private:
  MatView w_;
  Precision p_;
  int64_t k_;
  Napi::Reference<Napi::Float64Array> s_, u_, v_;
  double* sPtr_ = nullptr;
  double* uPtr_ = nullptr;
  double* vPtr_ = nullptr;
};

Napi::Value SvdLike(const Napi::CallbackInfo& info, bool vectors) {
  Napi::Env env = info.Env();
  const std::string fn = vectors ? "svd" : "svdvals";
  Napi::Object opts = ParseOptions(env, info[1], fn + " options");
  Precision p = ParsePrecision(env, opts, fn);
  Napi::Value kOpt = vectors ? opts.Get("k") : env.Undefined();
  MatArg w = ParseMat(env, info[0], "w");
  const int64_t mn = std::min(w.view.rows, w.view.cols);
  int64_t k = mn;
  if (!kOpt.IsUndefined()) k = ParseInteger(env, kOpt, fn + " option 'k'", 1, mn);
  CheckFits(env,
            8.0 * double(k) * (vectors ? double(w.view.rows + w.view.cols) + 1.0 : 1.0) +
                SvdWorkBytes(w.view.rows, w.view.cols, p, vectors),
            SvdLworkElems(w.view.rows, w.view.cols, vectors), w);
  Napi::Float64Array s = NewResult(env, k);
  Napi::Float64Array u = vectors ? NewResult(env, k * w.view.rows) : Napi::Float64Array();
  Napi::Float64Array v = vectors ? NewResult(env, k * w.view.cols) : Napi::Float64Array();
  return Dispatch(env, std::make_unique<SvdOp>(w, p, k, s, u, v), IsAsync(info, 2), vectors ? "svd" : "svdvals");
}

Napi::Value SvdvalsFn(const Napi::CallbackInfo& info) { return SvdLike(info, false); }
Napi::Value SvdFn(const Napi::CallbackInfo& info) { return SvdLike(info, true); }

// Many eigenvalue problems at once: one thread per core, each running single-threaded BLAS on
// whole matrices (small dense solves scale far better across matrices than inside one).
class BatchOp : public Op {
 public:
  BatchOp(std::vector<MatArg> mats, std::vector<Napi::Float64Array> outs, Precision p, int threads)
      : p_(p), threads_(threads) {
    views_.reserve(mats.size());  // Input() keeps pointers into views_
    for (auto& m : mats) {
      views_.push_back(m.view);
      Input(m, &views_.back());
    }
    for (auto& o : outs) {
      outs_.push_back(Napi::Persistent(o));
      ptrs_.push_back(o.Data());
    }
  }
  Status Run() override {
    const int64_t count = int64_t(views_.size());
    std::vector<Status> status(views_.size());
    std::atomic<int64_t> next{0};
    ParallelFor(threads_, threads_, [&](int64_t, int64_t) {
      for (int64_t i; (i = next.fetch_add(1)) < count;) {
        const MatView& a = views_[size_t(i)];
        Status s = CheckInput(a, p_);
        if (s.ok()) s = CheckSymmetric(a, DefaultSymTol(a));
        if (s.ok()) s = Eigen(a, p_, -1, -1, ptrs_[size_t(i)], nullptr);
        status[size_t(i)] = s;
      }
    });
    for (auto& s : status)
      if (!s.ok()) return s;  // the first failing matrix, by index
    return Status::Ok();
  }
  // Always below the threshold: the batch runs its matrices side by side, single-threaded.
  double Flops() const override { return 0; }
  bool Tiny() const override { return false; }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, outs_.size());
    for (size_t i = 0; i < outs_.size(); ++i) arr.Set(uint32_t(i), outs_[i].Value());
    return arr;
  }

 private:
  std::vector<MatView> views_;
  std::vector<Napi::Reference<Napi::Float64Array>> outs_;
  std::vector<double*> ptrs_;
  Precision p_;
  int threads_;
};

Napi::Value EigvalshBatchFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) ThrowType(env, "an array of Mats", "mats", Describe(info[0]));
  Napi::Array arr = info[0].As<Napi::Array>();
  if (arr.Length() == 0) ThrowRange(env, "at least one matrix", "mats", "Array(0)");
  Napi::Object opts = ParseOptions(env, info[1], "eigvalshBatch options");
  Precision p = ParsePrecision(env, opts, "eigvalshBatch");
  int threads = std::min(HardwareThreads(), std::max(1, ConfiguredThreads()));
  if (!opts.Get("threads").IsUndefined())
    threads = int(ParseInteger(env, opts.Get("threads"), "eigvalshBatch option 'threads'", 1, 1024));
  // Never more threads than cores or matrices: the batch already runs beside other small calls.
  threads = int(std::min<int64_t>(std::min(threads, HardwareThreads()), arr.Length()));
  std::vector<MatArg> mats;
  std::vector<Napi::Float64Array> outs;
  double bytes = 0;
  int64_t maxN = 0;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    MatArg m = ParseMat(env, arr.Get(i), "mats[" + std::to_string(i) + "]");
    RequireSquare(env, m);
    bytes += 8.0 * double(m.view.rows);
    maxN = std::max(maxN, m.view.rows);
    mats.push_back(m);
  }
  CheckFits(env, bytes + threads * EigenWorkBytes(maxN, p, false, false), EigenLworkElems(maxN, false, false), mats[0]);
  for (auto& m : mats) outs.push_back(NewResult(env, m.view.rows));
  return Dispatch(env, std::make_unique<BatchOp>(std::move(mats), std::move(outs), p, threads), IsAsync(info, 2),
                  "eigvalshBatch");
}

}  // namespace

void RegisterOps(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "gram", GramFn);
  Export(env, exports, "distanceMatrix", DistanceFn);
  Export(env, exports, "eigvalsh", EigvalshFn);
  Export(env, exports, "gramEigvalsh", GramEigvalshFn);
  Export(env, exports, "eigh", EighFn);
  Export(env, exports, "eighReduce", EighReduceFn);
  Export(env, exports, "eighVectors", EighVectorsFn);
  Export(env, exports, "svdvals", SvdvalsFn);
  Export(env, exports, "svd", SvdFn);
  Export(env, exports, "eigvalshBatch", EigvalshBatchFn);
}

}  // namespace specdyn
