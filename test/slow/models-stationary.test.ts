// Slow: the stationary SGD spectral density against a long simulation (N = 2000, 4 draws,
// 8000 eigenvalues). Run with `vitest run --project slow`.
import { describe, expect, it } from 'vitest';
import { stationaryL1, stationarySample } from '../stationary-sim.js';

describe('stationaryDensity against a long simulation', () => {
  it('N = 2000, r = 0.5, 4 draws: L1 distance over 40 log bins on [0.05, 1e6] below 0.03', () => {
    const vals: number[] = [];
    for (let seed = 0; seed < 4; seed++) vals.push(...stationarySample(2000, 0.5, seed));
    const l1 = stationaryL1(Float64Array.from(vals), 0.5, 0.05, 1e6, 40);
    console.log(`stationary density, N = 2000 x 4: L1 = ${l1.toFixed(4)}`);
    expect(l1).toBeLessThan(0.03);
  });
});
