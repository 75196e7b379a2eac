// Test fixtures made in code: seeded matrices and naive reference computations.
import { Rng } from '../src/random.js';
import type { Mat } from '../src/matrix.js';

export function randn(rows: number, cols: number, seed = 1): Mat<Float64Array> {
  return { data: new Rng(seed).fillNormal(new Float64Array(rows * cols)), rows, cols };
}

/** A random symmetric n x n matrix (G + Gᵀ)/2. */
export function randSym(n: number, seed = 1): Mat<Float64Array> {
  const g = randn(n, n, seed).data;
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = 0.5 * (g[i * n + j]! + g[j * n + i]!);
  return { data, rows: n, cols: n };
}

export function matVec(a: Mat, v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.rows);
  for (let i = 0; i < a.rows; i++) {
    let s = 0;
    for (let j = 0; j < a.cols; j++) s += a.data[i * a.cols + j]! * v[j]!;
    out[i] = s;
  }
  return out;
}

export function frobenius(a: Mat): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i]! * a.data[i]!;
  return Math.sqrt(s);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>, floor = 0): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!) / Math.max(Math.abs(want[i]!), floor);
    if (d > m || Number.isNaN(d)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * Transpiles src/ (TypeScript compiler, no type check) into a scratch folder inside
 * node_modules/.cache so a child process can run the current sources with package imports
 * resolving and the compiled addon linked in; returns the folder (remove it when done).
 */
export function transpileSources(root: string, tag: string): string {
  const out = path.join(root, 'node_modules', '.cache', `specdyn-${tag}-${process.pid}`);
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        const js = ts.transpileModule(fs.readFileSync(p, 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        }).outputText;
        const dest = path.join(out, path.relative(root, p)).replace(/\.ts$/, '.js');
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, js);
      }
    }
  };
  walk(path.join(root, 'src'));
  fs.writeFileSync(path.join(out, 'package.json'), JSON.stringify({ type: 'module', version: '0.0.0-test' }));
  // the compiled addon, where node-gyp-build looks for it from the transpiled native.js
  for (const dir of ['build', 'prebuilds']) {
    if (fs.existsSync(path.join(root, dir)) && !fs.existsSync(path.join(out, dir)))
      fs.symlinkSync(path.join(root, dir), path.join(out, dir));
  }
  return out;
}
