#!/usr/bin/env node
// Makes a fresh clone runnable, installing only what is missing and saying what it runs:
//   1. system packages: OpenBLAS + LAPACKE headers, cmake, a C++ compiler (apt-get as root,
//      otherwise prints the exact command and exits non-zero); with --bench also Debian's
//      NumPy/SciPy/scikit-learn for the side-by-side benchmarks (optional, never fatal); with
//      --fuzz clang-14 and libFuzzer for the native fuzz harnesses (optional, never fatal);
//   2. `npm ci` when node_modules is missing or older than package-lock.json;
//   3. the native addon (cmake-js, node-gyp as fallback) when missing or older than its sources;
//   4. the TypeScript build (dist/) when missing or older than src/.
// Node builtins only: it must run before any dependency is installed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const log = (msg) => console.log(`[bootstrap] ${msg}`);

function run(cmd, argv, opts = {}) {
  log(`running: ${[cmd, ...argv].join(' ')}`);
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', ...opts });
  return r.status === 0;
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let aptUpdated = false;
function aptInstall(pkgs, { fatal }) {
  const cmd = `apt-get update && apt-get install -y ${pkgs.join(' ')}`;
  if (process.platform !== 'linux' || !have('apt-get')) {
    const msg = `missing: ${pkgs.join(', ')}. Install the equivalent with your package manager (see docs/install.md).`;
    if (fatal) {
      console.error(`[bootstrap] ${msg}`);
      process.exit(1);
    }
    log(msg);
    return false;
  }
  if (!isRoot) {
    const msg = `missing system packages. Run:\n  sudo ${cmd.replace('&& apt-get', '&& sudo apt-get')}\nthen run this command again.`;
    if (fatal) {
      console.error(`[bootstrap] ${msg}`);
      process.exit(1);
    }
    log(msg);
    return false;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    if (!run('apt-get', ['update', '-qq'], { env }) && fatal) process.exit(1);
    aptUpdated = true;
  }
  const ok = run('apt-get', ['install', '-y', '-qq', ...pkgs], { env });
  if (!ok && fatal) process.exit(1);
  return ok;
}

// `--native-only` is the npm install hook of a development clone (scripts/install.mjs hands over
// here when npm installs the package itself): only step 3, and nothing at all when a prebuilt
// binary in prebuilds/ loads. Apps that depend on specdyn never run this file.
const nativeOnly = args.has('--native-only');
if (nativeOnly && existsSync(path.join(root, 'prebuilds'))) {
  const probe = spawnSync(process.execPath, ['-e', `require('node-gyp-build')(${JSON.stringify(root)})`], {
    cwd: root,
    stdio: 'ignore',
  });
  if (probe.status === 0) {
    log('using the prebuilt binary in prebuilds/');
    process.exit(0);
  }
}

// 1. System packages.
const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
const hasLib = (names) => libDirs.some((d) => names.some((n) => existsSync(path.join(d, n))));
const hasHeader = (name) =>
  [
    '/usr/include',
    '/usr/local/include',
    '/usr/include/x86_64-linux-gnu',
    '/usr/include/aarch64-linux-gnu',
    '/usr/include/openblas',
  ].some((d) => existsSync(path.join(d, name)));
const addonBuilt = () => existsSync(path.join(root, 'build', 'Release', 'specdyn.node'));
const missing = [];
if (!hasLib(['libopenblas.so', 'libopenblas.a']) || !hasHeader('cblas.h')) missing.push('libopenblas-dev');
if (!hasLib(['liblapacke.so', 'liblapacke.a']) || !hasHeader('lapacke.h')) missing.push('liblapacke-dev');
if (!have('cmake')) missing.push('cmake');
if (!have('g++') && !have('c++')) missing.push('g++');
if (missing.length && nativeOnly) {
  console.error(
    `[bootstrap] cannot build the native addon: missing ${missing.join(', ')}. Run: sudo apt-get install -y ${missing.join(' ')} (see docs/install.md), then node scripts/bootstrap.mjs.`,
  );
  process.exit(1);
} else if (missing.length) aptInstall(missing, { fatal: true });
else if (!quiet) log('system packages present (OpenBLAS, LAPACKE, cmake, C++ compiler)');

if (args.has('--bench')) {
  const py = '/usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import numpy, scipy, sklearn'], { stdio: 'ignore' });
  if (probe.status !== 0) {
    log('NumPy/SciPy/scikit-learn not importable: installing Debian packages for the benchmark rivals');
    if (!aptInstall(['python3-numpy', 'python3-scipy', 'python3-sklearn'], { fatal: false }))
      log('continuing without Python rivals (the benchmark says so in its table)');
  }
}

// --fuzz: clang and libFuzzer for the native fuzz harnesses (scripts/hardening/fuzz-native.mjs),
// installed on demand only, never for npm test.
if (
  args.has('--fuzz') &&
  !(have('clang++-14') && existsSync('/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a'))
) {
  log('clang/libFuzzer missing: installing Debian clang-14 and libclang-rt-14-dev for the fuzz harnesses');
  if (!aptInstall(['clang-14', 'libclang-rt-14-dev'], { fatal: false }))
    log('continuing without clang (fuzzing is skipped)');
}

// The report's browser test (test/report.test.ts) opens report.html in Debian's headless
// Chromium, driven by playwright-core (never a browser download): installed for test runs only.
if (
  !nativeOnly &&
  (args.has('--browser') || process.env.npm_lifecycle_event === 'pretest') &&
  !existsSync('/usr/bin/chromium')
) {
  log("Chromium missing: installing Debian's chromium for the report's browser test");
  if (!aptInstall(['chromium'], { fatal: false }))
    log('continuing without Chromium (the browser test will fail and say so)');
}

// The sweep queue's tests (test/slow/sweep-queue.test.ts) start Debian's redis-server on a free
// loopback port: installed for test runs only, or on demand with --redis.
if (!nativeOnly && (args.has('--redis') || process.env.npm_lifecycle_event === 'pretest') && !have('redis-server')) {
  log("redis-server missing: installing Debian's redis-server for the sweep queue tests");
  if (!aptInstall(['redis-server'], { fatal: false }))
    log('continuing without redis-server (the queue tests will fail and say so)');
}

// 2. npm dependencies.
if (!nativeOnly) {
  const lock = path.join(root, 'package-lock.json');
  const stamp = path.join(root, 'node_modules', '.specdyn-bootstrap.json');
  const lockHash = existsSync(lock) ? createHash('sha256').update(readFileSync(lock)).digest('hex') : 'none';
  let installed = false;
  try {
    installed = JSON.parse(readFileSync(stamp, 'utf8')).lockHash === lockHash;
  } catch {
    installed = false;
  }
  if (!installed) {
    log(
      existsSync(path.join(root, 'node_modules'))
        ? 'package-lock.json changed since the last install'
        : 'node_modules is missing',
    );
    if (!run('npm', existsSync(lock) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund']))
      process.exit(1);
    writeFileSync(stamp, JSON.stringify({ lockHash }));
  } else if (!quiet) log('npm dependencies up to date');
}

// 3. Native addon.
function newestMtime(entries) {
  let newest = 0;
  for (const e of entries) {
    const p = path.join(root, e);
    if (!existsSync(p)) continue;
    const st = statSync(p);
    if (st.isDirectory()) newest = Math.max(newest, newestMtime(readdirSync(p).map((f) => path.join(e, f))));
    else newest = Math.max(newest, st.mtimeMs);
  }
  return newest;
}
const addon = path.join(root, 'build', 'Release', 'specdyn.node');
if (!addonBuilt() || statSync(addon).mtimeMs < newestMtime(['native', 'CMakeLists.txt'])) {
  log(addonBuilt() ? 'native sources changed: rebuilding the addon' : 'building the native addon');
  const npx = 'npx';
  if (!run(npx, ['cmake-js', 'compile', '--out', 'build'])) {
    log('cmake-js failed; trying node-gyp with binding.gyp');
    if (!run(npx, ['node-gyp', 'rebuild'])) {
      console.error(
        '[bootstrap] the native build failed. See docs/install.md (OpenBLAS/LAPACKE packages, override variables).',
      );
      process.exit(1);
    }
  }
} else if (!quiet) log('native addon up to date');

// 4. TypeScript build (an installed package ships dist/ already).
if (nativeOnly) process.exit(0);
const distIndex = path.join(root, 'dist', 'index.js');
if (!existsSync(distIndex) || statSync(distIndex).mtimeMs < newestMtime(['src', 'tsconfig.json'])) {
  log('compiling TypeScript (dist/)');
  if (!run('npx', ['tsc', '-p', 'tsconfig.json'])) process.exit(1);
} else if (!quiet) log('TypeScript build up to date');
