// The outcome of a kernel (Status) and the number format every message uses.
#pragma once

#include <string>

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

}  // namespace specdyn
