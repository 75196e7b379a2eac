// Slow: the Binder-cumulant estimate of the critical step over 20 seeds at its defaults
// (sizes 64, 128, 256; 100 samples; ~2-5 s per seed). Run with `vitest run --project slow`.
import { describe, expect, it } from 'vitest';
import { estimateCriticalStep, linearTeacherStudent as lts } from '../../src/models/index.js';

const stats = (v: number[]) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean: m, sd: Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) };
};

describe('estimateCriticalStep over 20 seeds', () => {
  it('no throw, a crossing every time, the mean within its reported error of ε_c; the Padé fit on the same data', async () => {
    const theory = lts.criticalStep({ sigmaW: 1, ratio: 0.5 });
    const est: number[] = [],
      err: number[] = [],
      pade: number[] = [],
      padeErr: number[] = [];
    for (let seed = 0; seed < 20; seed++) {
      const e = await estimateCriticalStep({ seed });
      expect(e.crossed).toBe(true);
      expect(e.error).toBeGreaterThan(0);
      est.push(e.lrCritical);
      err.push(e.error);
      if (e.collapse.ok) {
        pade.push(e.collapse.lrCritical);
        padeErr.push(e.collapse.error);
      }
    }
    const c = stats(est),
      ce = stats(err).mean;
    const p = stats(pade),
      pe = stats(padeErr).mean;
    console.log(
      `crossing: mean ${c.mean.toFixed(4)}, seed sd ${c.sd.toFixed(4)}, mean reported error ${ce.toFixed(4)}; theory ${theory.toFixed(4)}`,
    );
    console.log(
      `Padé collapse: ${pade.length}/20 fits accepted, mean ${p.mean.toFixed(4)}, seed sd ${p.sd.toFixed(4)}, mean reported error ${pe.toFixed(4)}`,
    );
    expect(Math.abs(c.mean - theory)).toBeLessThan(ce);
    // the jackknife error describes the seed-to-seed spread (within a factor 2)
    expect(c.sd / ce).toBeGreaterThan(0.5);
    expect(c.sd / ce).toBeLessThan(2);
    // the collapse fit: accepted on most seeds, its mean within its typical error of ε_c
    expect(pade.length).toBeGreaterThanOrEqual(15);
    expect(Math.abs(p.mean - theory)).toBeLessThan(pe);
  });
});
