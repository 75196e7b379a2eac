// npm run demo: the spectrum of a distance matrix, read against theory.
//
// N points uniform on the sphere S², their geodesic (angular) distance matrix M, and its
// eigenvalues. Bogomolny–Bohigas–Schmit / Funk–Hecke predict: one positive (Perron) eigenvalue
// ≈ N·⟨d⟩ with ⟨d⟩ = π/2, then the l = 1 multiplet (3 eigenvalues, d + 1 for S^d) at
// N·μ₁ with μ₁ = ½∫₋₁¹ arccos(t)·t dt = −π/8, then l = 3 (7 eigenvalues) at N·μ₃, ...
import * as sd from '../dist/index.js';

const N = Number(process.env.DEMO_N ?? 1500);
const rng = new sd.Rng(2026);
const x = { data: new Float64Array(N * 3), rows: N, cols: 3 };
for (let i = 0; i < N; i++) x.data.set(rng.unitVector(3), 3 * i);

const t0 = performance.now();
const M = await sd.distanceMatrix(x, { metric: 'angular' });
const t1 = performance.now();
const w = await sd.eigvalsh(M);
const t2 = performance.now();

// Funk–Hecke coefficients μ_l = ½∫₋₁¹ arccos(t) P_l(t) dt by Gauss–Legendre-free midpoint rule.
function legendre(l, t) {
  let p0 = 1, p1 = t;
  if (l === 0) return p0;
  for (let k = 2; k <= l; k++) [p0, p1] = [p1, ((2 * k - 1) * t * p1 - (k - 1) * p0) / k];
  return p1;
}
function mu(l, steps = 200000) {
  let s = 0;
  for (let i = 0; i < steps; i++) {
    const t = -1 + (2 * (i + 0.5)) / steps;
    s += Math.acos(t) * legendre(l, t);
  }
  return (s * (2 / steps)) / 2;
}

const desc = Array.from(w).reverse();
const positive = desc.filter((v) => v > 0).length;
const fmt = (v) => (v / N).toFixed(4).padStart(8);
console.log(`specdyn demo: ${N} points uniform on S², geodesic distance matrix ${N} x ${N}`);
console.log(`native core: ${sd.nativeInfo().blas.split(' ').slice(0, 2).join(' ')}, ${sd.getThreads()} BLAS threads`);
console.log(`distanceMatrix ${(t1 - t0).toFixed(0)} ms, eigvalsh ${(t2 - t1).toFixed(0)} ms\n`);
console.log(`positive eigenvalues: ${positive} (BBS: exactly one for a proper distance on the sphere)`);
console.log(`Perron λ/N = ${fmt(desc[0])}   theory μ₀ = π/2 = ${(Math.PI / 2).toFixed(4)}`);
const neg = Array.from(w); // ascending: most negative first
console.log(`\nmost negative eigenvalues λ/N (the multiplets l = 1, 3, 5 of the Funk–Hecke expansion):`);
let k = 0;
for (const l of [1, 3, 5]) {
  const m = 2 * l + 1;
  const vals = neg.slice(k, k + m).map(fmt).join('');
  console.log(`  l = ${l} (x${m}) theory ${fmt(mu(l) * N)}  observed${vals}`);
  k += m;
}
console.log(`\nbulk: ${N - 1 - k} more eigenvalues in [${fmt(neg[k])}, ${fmt(desc[1])}] (λ/N)`);
console.log(`the band of 3 = d + 1 at the top of the non-Perron spectrum says: a 2-sphere.`);
