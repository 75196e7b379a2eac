// Operator products to convergence of eigsh under the former and the current default block and
// basis sizes, on three spectra: a Wishart edge (X Xᵀ, X 3000 x 200), a well-separated spectrum
// (12 planted spikes on a Gram matrix, N = 2000) and a sphere's distance matrix (N = 2000, the
// S² triplet). Counts do not depend on machine load.
//   node bench/eigsh-defaults.mjs      (after the native build and `npx tsc -p tsconfig.json`)
import * as sd from '../dist/index.js';
import { Rng } from '../dist/random.js';

const rng = new Rng(1);
const gauss = (r, c) => {
  const d = new Float64Array(r * c);
  for (let i = 0; i < d.length; i++) d[i] = rng.normal();
  return { data: d, rows: r, cols: c };
};
/** @type {Array<[string, any, 'largest' | 'magnitude']>} */
const cases = [['wishart edge, N = 3000', sd.gramOperator(gauss(3000, 200)), 'largest']];
{
  const n = 2000;
  const a = sd.gramSync(gauss(n, 50));
  for (let i = 0; i < 12; i++) {
    const v = gauss(n, 1).data;
    const s = (5000 * (12 - i)) / n;
    for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) a.data[p * n + q] += s * v[p] * v[q];
  }
  cases.push(['separated, N = 2000', a, 'largest']);
}
{
  const t = sd.sphereTemplate({ n: 2000, dim: 2, seed: 3 });
  cases.push(['sphere distances, N = 2000', sd.distanceMatrixSync(t.reps, { metric: 'angular' }), 'magnitude']);
}
/** @param {number} k @returns {{ blockSize?: number, basisSize?: number }} */
const former = (k) => {
  const b = Math.max(4, Math.min(k, 32));
  return { blockSize: b, basisSize: Math.max(k + 4 * b, 3 * k) };
};
for (const [name, a, which] of cases) {
  for (const k of [1, 10, 50]) {
    const cells = [];
    /** @type {Array<[string, { blockSize?: number, basisSize?: number }]>} */
    const variants = [
      ['former', former(k)],
      ['current', {}],
    ];
    for (const [label, sizes] of variants) {
      const t0 = performance.now();
      const r = sd.eigshSync(a, { k, which, ...sizes });
      cells.push(
        `${label}: ${r.matvecs} products (b ${r.blockSize}, m ${r.basisSize}), ${(performance.now() - t0).toFixed(0)} ms`,
      );
    }
    console.log(`${name}, k = ${k} | ${cells.join(' | ')}`);
  }
}
