// npm run build:prebuild: prebuilds/<platform>-<arch>/specdyn.napi.node with OpenBLAS and LAPACKE
// linked in statically (hidden symbols), so the binary needs no BLAS on the target machine.
//   --if-missing   do nothing when a prebuild for this platform exists and is newer than native/
//                  (what `prepack` uses, so `npm pack` always ships one)
//
// prebuildify has no cmake-js backend: it drives node-gyp through binding.gyp, which builds the
// same sources with the same defines (scripts/native-sources.mjs lists them for both builds).
// The build runs in a scratch copy of the package, so the developer's build/ is left alone.
// Offline, `-t <this Node version>` makes node-gyp use the local Node headers.
// Afterwards the binary is checked: no libopenblas/liblapack among its ELF NEEDED entries nor in
// `ldd`, and it loads and computes; its size is printed.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => console.log(`[prebuild] ${msg}`);
const fail = (msg) => {
  console.error(`[prebuild] ${msg}`);
  process.exit(1);
};
const run = (cmd, args, opts = {}) => {
  log(`${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const platformDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const nodeFiles = (dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node')) : []);

function newestMtime(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((f) => newestMtime(path.join(p, f))));
}

if (process.argv.includes('--if-missing')) {
  const have = nodeFiles(platformDir);
  const sourcesMtime = Math.max(
    newestMtime(path.join(root, 'native')),
    statSync(path.join(root, 'binding.gyp')).mtimeMs,
  );
  if (have.length && statSync(path.join(platformDir, have[0])).mtimeMs >= sourcesMtime) {
    log(`${path.relative(root, path.join(platformDir, have[0]))} is up to date`);
    process.exit(0);
  }
}

// A scratch copy holding only what binding.gyp reads.
const scratch = mkdtempSync(path.join(os.tmpdir(), 'specdyn-prebuild-'));
try {
  for (const entry of ['binding.gyp', 'package.json', 'native', 'scripts/native-sources.mjs']) {
    cpSync(path.join(root, entry), path.join(scratch, entry), { recursive: true });
  }
  symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
  const prebuildify = path.join(root, 'node_modules', 'prebuildify', 'bin.js');
  /** @type {NodeJS.ProcessEnv} */
  const env = {
    ...process.env,
    SPECDYN_STATIC_BLAS: '1',
    PATH: `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`,
  };
  // This Node's own headers when they are installed next to it (no download, works offline).
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (!env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h')))
    env.npm_config_nodedir = prefix;
  run(process.execPath, [prebuildify, '--napi', '--strip', '-t', process.versions.node, scratch], {
    cwd: scratch,
    env,
  });
  const built = path.join(scratch, 'prebuilds', `${process.platform}-${process.arch}`);
  const files = nodeFiles(built);
  if (files.length === 0) fail(`prebuildify wrote no .node file into prebuilds/${process.platform}-${process.arch}`);
  rmSync(platformDir, { recursive: true, force: true });
  mkdirSync(platformDir, { recursive: true });
  for (const f of files) cpSync(path.join(built, f), path.join(platformDir, f));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const bin = path.join(platformDir, nodeFiles(platformDir)[0]);
if (process.platform === 'linux') {
  const needed = spawnSync('readelf', ['-d', bin], { encoding: 'utf8' }).stdout ?? '';
  const ldd = spawnSync('ldd', [bin], { encoding: 'utf8' }).stdout ?? '';
  console.log(ldd);
  if (/libopenblas|liblapack|libblas|libcblas/.test(needed + ldd))
    fail('the prebuilt binary still links a shared BLAS/LAPACK');
}
const probe = spawnSync(
  process.execPath,
  [
    '-e',
    `const a = require(${JSON.stringify(bin)}); const w = a.eigvalsh({ data: new Float64Array([2, 1, 1, 2]), rows: 2, cols: 2 }, undefined, false); if (Math.abs(w[0] - 1) > 1e-12 || Math.abs(w[1] - 3) > 1e-12) process.exit(1); console.log(JSON.stringify(a.nativeInfo()));`,
  ],
  { encoding: 'utf8' },
);
if (probe.status !== 0) fail(`the prebuilt binary does not load or compute: ${probe.stderr}`);
const size = statSync(bin).size;
log(
  `${path.relative(root, bin)}: ${(size / 1024 / 1024).toFixed(2)} MB (${size} bytes), loads; ${probe.stdout.trim()}`,
);
