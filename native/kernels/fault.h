#pragma once

namespace specdyn {

// Test-only fault injection (bindings: __injectFault): the next FaultPoint(where) reached
// throws the armed exception. Lets tests prove that no exception from native code, on any
// path, ends the process.
enum class FaultSite { None, Kernel, Result };
enum class FaultKind { LengthError, BadAlloc, Unknown };
void ArmFault(FaultSite where, FaultKind what);
void FaultPoint(FaultSite where);

}  // namespace specdyn
