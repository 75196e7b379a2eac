// Registration entry points of the binding files (called from addon.cc).
#pragma once
#include <napi.h>

namespace specdyn {
void RegisterOps(Napi::Env env, Napi::Object exports);
void RegisterInfo(Napi::Env env, Napi::Object exports);
void RegisterIterative(Napi::Env env, Napi::Object exports);
void RegisterTfjs(Napi::Env env, Napi::Object exports);
}  // namespace specdyn
