// Prints what binding.gyp needs, so node-gyp builds exactly what CMakeLists.txt builds:
//   sources              native/addon.cc + native/kernels/*.cc + native/bindings/*.cc
//   include-dirs         where cblas.h / lapacke.h live (beyond the default search path)
//   libs <static 0|1>    the link line: shared -llapacke -lopenblas, or the static archives
// Node builtins only. Override with SPECDYN_BLAS_LIBS / SPECDYN_INCLUDE_DIRS (space-separated).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [what, arg] = process.argv.slice(2);

function sources() {
  const list = ['native/addon.cc'];
  for (const dir of ['native/kernels', 'native/bindings']) {
    for (const f of readdirSync(path.join(root, dir)).sort()) if (f.endsWith('.cc')) list.push(`${dir}/${f}`);
  }
  return list;
}

const multiarch = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/usr/local/lib',
  '/opt/homebrew/opt/openblas/lib',
];

function findFile(names, dirs) {
  for (const d of dirs) for (const n of names) if (existsSync(path.join(d, n))) return path.join(d, n);
  return undefined;
}

function libs(staticBlas) {
  if (process.env.SPECDYN_BLAS_LIBS) return process.env.SPECDYN_BLAS_LIBS.split(/\s+/);
  if (staticBlas !== '1') return ['-llapacke', '-lopenblas'];
  const dirs = multiarch.flatMap((d) => [path.join(d, 'openblas-pthread'), d]);
  const openblas = findFile(['libopenblas.a'], dirs);
  const lapacke = findFile(['liblapacke.a'], dirs);
  if (!openblas || !lapacke) {
    console.error('static OpenBLAS/LAPACKE archives not found: sudo apt-get install -y libopenblas-dev liblapacke-dev');
    process.exit(1);
  }
  // Debian's libgfortran.a is not position-independent: the Fortran runtime stays dynamic.
  return [lapacke, openblas, '-l:libgfortran.so.5', '-lpthread', '-lm'];
}

function includeDirs() {
  if (process.env.SPECDYN_INCLUDE_DIRS) return process.env.SPECDYN_INCLUDE_DIRS.split(/\s+/);
  return ['/usr/include/openblas', '/opt/homebrew/opt/openblas/include'].filter((d) => existsSync(d));
}

const out =
  what === 'sources' ? sources() : what === 'libs' ? libs(arg) : what === 'include-dirs' ? includeDirs() : null;
if (!out) {
  console.error('usage: node scripts/native-sources.mjs sources|include-dirs|libs [0|1]');
  process.exit(2);
}
console.log(out.join(' '));
