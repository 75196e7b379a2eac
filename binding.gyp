# node-gyp build of the same sources as CMakeLists.txt (the fallback builder, and what
# prebuildify drives). Sources and BLAS link flags come from scripts/native-sources.mjs so the
# two builds cannot drift apart. `static_blas=1` links OpenBLAS/LAPACKE statically with hidden
# symbols (npm run prebuild).
{
  "variables": {
    "static_blas%": "<!(node -p \"process.env.SPECDYN_STATIC_BLAS === '1' ? 1 : 0\")"
  },
  "targets": [
    {
      "target_name": "specdyn",
      "sources": ["<!@(node scripts/native-sources.mjs sources)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/native-sources.mjs include-dirs)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "NDEBUG", "SPECDYN_STATIC_BLAS=<(static_blas)"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fvisibility=hidden"],
      "libraries": ["<!@(node scripts/native-sources.mjs libs <(static_blas))"],
      "conditions": [
        ["OS=='linux' and static_blas==1", { "ldflags": ["-Wl,--exclude-libs,ALL"] }]
      ]
    }
  ]
}
