#!/usr/bin/env node
// npm's install hook for specdyn, in node-gyp-build's manner: nothing to do when a binary loads
// (prebuilds/<platform>-<arch>/ shipped in the package, or an earlier build/Release); otherwise a
// source build with node-gyp through binding.gyp. It never calls a devDependency: node-gyp is the
// copy npm bundles (npm passes its path as npm_config_node_gyp), node-addon-api and
// node-gyp-build are dependencies. Before building it checks for the BLAS/LAPACKE headers, a C++
// compiler, make and Python, and if one is missing it prints one message naming the package for
// this OS and the command to run afterwards in the app.
//
// In a development clone (npm install/ci run in the package itself) the addon is built by
// scripts/bootstrap.mjs with cmake-js instead.
//
// Environment:
//   npm_config_build_from_source=true (npm install --build-from-source, which npm 11 passes on
//                                with an "unknown config" warning) or SPECDYN_BUILD_FROM_SOURCE=1:
//                                ignore prebuilds and build from source
//   SPECDYN_INCLUDE_DIRS         extra directories holding cblas.h / lapacke.h (space-separated;
//                                binding.gyp passes them to the compiler as well)
//   SPECDYN_SYSTEM_INCLUDE_DIRS  the system header directories searched (space-separated; the
//                                default is the usual /usr/include, /usr/local/include, ...;
//                                pointing it at an empty directory simulates missing headers)
// Node builtins only.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => console.log(`[specdyn] ${msg}`);
const env = process.env;

// A development clone: the package installs its own dependencies.
const initCwd = env.INIT_CWD ? path.resolve(env.INIT_CWD) : undefined;
const bootstrap = path.join(root, 'scripts', 'bootstrap.mjs');
const insideRoot = initCwd !== undefined && (initCwd === root || initCwd.startsWith(root + path.sep));
if (insideRoot && existsSync(bootstrap)) {
  const r = spawnSync(process.execPath, [bootstrap, '--native-only'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

/** The path of the addon node-gyp-build would load, or undefined (with the reason). */
function loadable() {
  const probe = spawnSync(
    process.execPath,
    ['-e', `const p = require('node-gyp-build').path(${JSON.stringify(root)}); require(p); console.log(p)`],
    { cwd: root, encoding: 'utf8' },
  );
  if (probe.status === 0) return { file: probe.stdout.trim() };
  return {
    reason:
      (probe.stderr || '')
        .split('\n')
        .map((l) => l.trim())
        .find((l) => /^\w*Error:/.test(l)) ?? 'unknown',
  };
}

const fromSource = env.npm_config_build_from_source === 'true' || env.SPECDYN_BUILD_FROM_SOURCE === '1';
if (!fromSource) {
  const found = loadable();
  if (found.file) {
    log(`using ${path.relative(root, found.file)}`);
    process.exit(0);
  }
  log(`no prebuilt binary loads for ${process.platform}-${process.arch} (${found.reason}); building from source`);
} else log('--build-from-source: building the native addon from source');

// Preflight: what a node-gyp build of binding.gyp needs.
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const split = (v) => (v ?? '').split(/\s+/).filter(Boolean);
const systemIncludeDirs =
  env.SPECDYN_SYSTEM_INCLUDE_DIRS !== undefined
    ? split(env.SPECDYN_SYSTEM_INCLUDE_DIRS)
    : [
        '/usr/include',
        '/usr/local/include',
        `/usr/include/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`,
        '/usr/include/openblas',
        '/usr/include/lapacke',
        '/opt/homebrew/opt/openblas/include',
        '/usr/local/opt/openblas/include',
      ];
const includeDirs = [...split(env.SPECDYN_INCLUDE_DIRS), ...systemIncludeDirs];
const hasHeader = (name) => includeDirs.some((d) => existsSync(path.join(d, name)));

function osRelease() {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const get = (k) => new RegExp(`^${k}="?([^"\\n]*)`, 'm').exec(text)?.[1] ?? '';
    return `${get('ID')} ${get('ID_LIKE')}`;
  } catch {
    return '';
  }
}

// One install command per family; [blas headers, compiler + make, python].
const FAMILIES = [
  {
    test: /debian|ubuntu/,
    name: 'Debian/Ubuntu',
    cmd: 'sudo apt-get install -y',
    blas: 'libopenblas-dev liblapacke-dev',
    cxx: 'g++ make',
    py: 'python3',
  },
  {
    test: /fedora|rhel|centos/,
    name: 'Fedora/RHEL',
    cmd: 'sudo dnf install -y',
    blas: 'openblas-devel lapack-devel',
    cxx: 'gcc-c++ make',
    py: 'python3',
  },
  { test: /alpine/, name: 'Alpine', cmd: 'apk add', blas: 'openblas-dev lapack-dev', cxx: 'g++ make', py: 'python3' },
  { test: /arch/, name: 'Arch', cmd: 'sudo pacman -S', blas: 'openblas lapacke cblas', cxx: 'gcc make', py: 'python' },
  { test: /darwin/, name: 'macOS (Homebrew)', cmd: 'brew install', blas: 'openblas lapack', cxx: '', py: 'python' },
];
const id = process.platform === 'darwin' ? 'darwin' : osRelease();
const family = FAMILIES.find((f) => f.test.test(id));

const missing = [];
if (!hasHeader('cblas.h') || !hasHeader('lapacke.h'))
  missing.push({ what: 'the OpenBLAS and LAPACKE development headers (cblas.h, lapacke.h)', key: 'blas' });
if (!have(env.CXX || 'c++') && !have('g++') && !have('clang++')) missing.push({ what: 'a C++17 compiler', key: 'cxx' });
else if (!have('make')) missing.push({ what: 'make', key: 'cxx' });
if (!have('python3') && !have('python')) missing.push({ what: 'Python 3 (node-gyp runs gyp)', key: 'py' });

if (missing.length) {
  const keys = [...new Set(missing.map((m) => m.key))];
  const install = (f) =>
    `${f.cmd} ${keys
      .map((k) => f[k])
      .filter(Boolean)
      .join(' ')}`;
  const how = family ? `  ${install(family)}` : FAMILIES.map((f) => `  ${f.name}: ${install(f)}`).join('\n');
  console.error(
    `\nspecdyn: cannot build the native addon: missing ${missing.map((m) => m.what).join(', ')}.\n` +
      `No prebuilt binary covers ${process.platform}-${process.arch} here, so it is built from source. Install:\n${how}\n` +
      `then run, in your app: npm rebuild specdyn\n` +
      `(Headers elsewhere: SPECDYN_INCLUDE_DIRS="/path/include" npm rebuild specdyn; another BLAS: SPECDYN_BLAS_LIBS="-lmkl_rt".)\n`,
  );
  process.exit(1);
}

// node-gyp: npm's own copy first, then a local one, then PATH.
const require = createRequire(import.meta.url);
let gyp;
if (env.npm_config_node_gyp && existsSync(env.npm_config_node_gyp)) gyp = [process.execPath, env.npm_config_node_gyp];
else {
  try {
    gyp = [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    gyp = ['node-gyp'];
  }
}
log(`running: ${[...gyp.slice(1), 'rebuild'].join(' ')}`);
const r = spawnSync(gyp[0], [...gyp.slice(1), 'rebuild'], { cwd: root, stdio: 'inherit' });
const after = r.status === 0 ? loadable() : { reason: `node-gyp exited with ${r.status ?? r.signal}` };
if (!after.file) {
  console.error(
    `\nspecdyn: the source build failed (${after.reason}; the compiler output is above).\n` +
      `It needs OpenBLAS and LAPACKE with headers, a C++17 compiler, make and Python 3` +
      (family
        ? ` (${family.name}: ${family.cmd} ${[family.blas, family.cxx, family.py].filter(Boolean).join(' ')})`
        : '') +
      `; then run, in your app: npm rebuild specdyn\n`,
  );
  process.exit(1);
}
log(`built ${path.relative(root, after.file)}`);
