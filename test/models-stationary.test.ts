// models/: the stationary SGD spectral density against an independent S-transform solve, its
// normalisation and tail, and a simulation histogram.
import { describe, expect, it } from 'vitest';
import { stationaryCdf, stationaryDensity, stationaryShape } from '../src/models/index.js';
import { stationaryL1, stationarySample } from './stationary-sim.js';

/** ρ(λ) by solving T = 1/(z S(T) − 1), S(T) = −k T/(1 + rT) (k = σ_H²/σ_F²), by Newton in complex T at z = λ + iη. */
function densityBySTransform(lambda: number, r: number, k: number): number {
  const eta = 1e-10;
  // complex helpers as [re, im]
  type C = [number, number];
  const mul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
  const div = (a: C, b: C): C => {
    const d = b[0] * b[0] + b[1] * b[1];
    return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d];
  };
  const add = (a: C, b: C): C => [a[0] + b[0], a[1] + b[1]];
  const z: C = [lambda, eta];
  // f(T) = T (z S(T) − 1) − 1 = 0, i.e. −k z T² − T(1 + rT) − (1 + rT) = 0 multiplied out:
  // (−k z − r) T² − (1 + r) T − 1 = 0; Newton from the upper-half-plane side
  let T: C = [-0.5, -0.5];
  const a: C = [-k * z[0] - r, -k * z[1]];
  for (let it = 0; it < 200; it++) {
    const f = add(add(mul(a, mul(T, T)), [-(1 + r) * T[0], -(1 + r) * T[1]]), [-1, 0]);
    const df = add(mul([2 * a[0], 2 * a[1]], T), [-(1 + r), 0]);
    T = add(T, mul([-1, 0], div(f, df)));
  }
  const g = div(add([1, 0], T), z);
  return Math.abs(g[1]) / Math.PI;
}

describe('stationaryDensity (H⁻¹ℱH⁻¹, free multiplicative convolution)', () => {
  it('equals an independent Newton solve of the S-transform equation', () => {
    for (const ratio of [0.2, 0.5, 0.9]) {
      for (const [sigmaH, sigmaF] of [
        [1, 1],
        [2, 0.5],
      ] as const) {
        const k = sigmaH ** 2 / sigmaF ** 2;
        const { lowerEdge } = stationaryShape({ ratio, sigmaH, sigmaF });
        for (const x of [1.01, 1.5, 3, 10, 100, 1e4].map((f) => f * Math.max(lowerEdge, 1e-3))) {
          const want = densityBySTransform(x, ratio, k);
          expect(Math.abs(stationaryDensity(x, { ratio, sigmaH, sigmaF }) / want - 1)).toBeLessThan(1e-6);
        }
      }
    }
  });

  it('normalised, zero below the edge, with the tail (√κ/π) λ^(−3/2)', () => {
    for (const ratio of [0.2, 0.5]) {
      const p = { ratio };
      const { lowerEdge, tailAmplitude } = stationaryShape(p);
      expect(tailAmplitude).toBeCloseTo(1 / Math.PI, 14);
      expect(stationaryDensity(lowerEdge * 0.99, p)).toBe(0);
      expect(stationaryCdf(1e12, p)).toBeCloseTo(1 - (2 * tailAmplitude) / 1e6, 8);
      for (const x of [1e4, 1e6]) expect(stationaryDensity(x, p) / (tailAmplitude * x ** -1.5)).toBeCloseTo(1, 1);
    }
  });

  it('matches a simulation histogram (N = 300, 4 draws): L1 distance < 0.08 over 30 log bins', () => {
    const vals: number[] = [];
    for (let seed = 0; seed < 4; seed++) vals.push(...stationarySample(300, 0.5, seed));
    const l1 = stationaryL1(Float64Array.from(vals), 0.5, 0.1, 1e5, 30);
    console.log(`stationary density, N = 300 x 4: L1 = ${l1.toFixed(4)}`);
    expect(l1).toBeLessThan(0.08);
  });

  it('bad input', () => {
    expect(() => stationaryDensity(1, { ratio: 0 })).toThrow('Expected a number > 0 for ratio but received 0');
    expect(() => stationaryDensity(NaN, { ratio: 0.5 })).toThrow(/for lambda but received NaN/);
  });
});
