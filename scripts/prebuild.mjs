// npm run prebuild: prebuilds/<platform>-<arch>/*.node with OpenBLAS and LAPACKE linked in
// statically (hidden symbols), so the binary needs no BLAS on the target machine.
//
// prebuildify has no cmake-js backend: it drives node-gyp through binding.gyp, which builds the
// same sources with the same defines (scripts/native-sources.mjs lists them for both builds).
// Offline, `-t <this Node version>` makes node-gyp use the local Node headers.
// Afterwards the binary is checked: no libopenblas/liblapack in `ldd`, and it loads.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args, env = {}) => {
  console.log(`[prebuild] ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run('npx', ['prebuildify', '--napi', '--strip', '-t', process.versions.node], { SPECDYN_STATIC_BLAS: '1' });

const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node')) : [];
if (files.length === 0) {
  console.error(`[prebuild] no .node file in ${path.relative(root, dir)}`);
  process.exit(1);
}
const bin = path.join(dir, files[0]);
if (process.platform === 'linux') {
  const ldd = spawnSync('ldd', [bin], { encoding: 'utf8' }).stdout;
  console.log(ldd);
  if (/libopenblas|liblapack/.test(ldd)) {
    console.error('[prebuild] the prebuilt binary still links a shared BLAS/LAPACK');
    process.exit(1);
  }
}
const probe = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(bin)}); const w = a.eigvalsh({ data: new Float64Array([2, 1, 1, 2]), rows: 2, cols: 2 }, undefined, false); if (w[0] !== 1 && Math.abs(w[0] - 1) > 1e-12) process.exit(1); console.log(a.nativeInfo());`], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.error(`[prebuild] the prebuilt binary does not load or compute: ${probe.stderr}`);
  process.exit(1);
}
console.log(`[prebuild] ${path.relative(root, bin)} loads; ${probe.stdout.trim().replace(/\s+/g, ' ')}`);
