#include "fault.h"

#include <atomic>
#include <new>
#include <stdexcept>

namespace specdyn {

namespace {
std::atomic<int> g_faultSite{0}, g_faultKind{0};
}  // namespace

void ArmFault(FaultSite where, FaultKind what) {
  g_faultKind.store(int(what));
  g_faultSite.store(int(where));
}

void FaultPoint(FaultSite where) {
  int expected = int(where);
  if (where == FaultSite::None || !g_faultSite.compare_exchange_strong(expected, 0)) return;
  switch (FaultKind(g_faultKind.load())) {
    case FaultKind::LengthError: throw std::length_error("injected fault (std::length_error)");
    case FaultKind::BadAlloc: throw std::bad_alloc();
    case FaultKind::Unknown: throw 42;  // not a std::exception
  }
}

bool TakeFault(FaultSite where) {
  int expected = int(where);
  return where != FaultSite::None && g_faultSite.compare_exchange_strong(expected, 0);
}

}  // namespace specdyn
