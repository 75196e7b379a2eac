// Module init: per-environment instance data (so the addon loads in worker_threads) and the
// bindings. Nothing else lives here.
#include <napi.h>

#include "bindings/args.h"
#include "bindings/bindings.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new specdyn::AddonData());
  specdyn::RegisterOps(env, exports);
  specdyn::RegisterInfo(env, exports);
  specdyn::RegisterIterative(env, exports);
  specdyn::RegisterTfjs(env, exports);
  return exports;
}

NODE_API_MODULE(specdyn, Init)
