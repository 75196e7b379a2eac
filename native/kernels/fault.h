#pragma once

namespace specdyn {

// Test-only fault injection (bindings: __injectFault): the next FaultPoint(where) reached
// throws the armed exception. Lets tests prove that no exception from native code, on any
// path, ends the process.
enum class FaultSite { None, Kernel, Result, Stemr };
enum class FaultKind { LengthError, BadAlloc, Unknown };
void ArmFault(FaultSite where, FaultKind what);
void FaultPoint(FaultSite where);
// A fault armed at `where` that is not an exception: true once (disarming it) when armed there.
// Site Stemr: the next ?stemr call of EigenReduction::Vectors is treated as failed, so that the
// tests reach its bisection fallback (?stemr fails only on rare tight clusters).
bool TakeFault(FaultSite where);

}  // namespace specdyn
