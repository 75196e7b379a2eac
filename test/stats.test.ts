// Generic statistics in src/stats.ts that have no other direct test: k-means explained variance.
import { describe, expect, it } from 'vitest';
import { kmeansExplained } from '../src/stats.js';
import { Rng } from '../src/random.js';

function points(rows: number[][]): { data: Float64Array; rows: number; cols: number } {
  return { data: Float64Array.from(rows.flat()), rows: rows.length, cols: rows[0]!.length };
}

describe('kmeansExplained', () => {
  it('two groups on a line with k = 2: 1 − within/total computed by hand', () => {
    // Groups {0, 1} and {10, 11}: mean 5.5, total SS = 2(5.5² + 4.5²) = 101, within = 4 · 0.25 = 1.
    expect(kmeansExplained(points([[0], [1], [10], [11]]), 2)).toBeCloseTo(1 - 1 / 101, 14);
  });

  it('K tight, well-separated clusters in R³ with k = K: explained ≈ 1 and exactly 1 − within/total', () => {
    const rng = new Rng(3);
    const centres = [
      [0, 0, 0],
      [10, 0, 0],
      [0, 10, 0],
      [0, 0, 10],
    ];
    const rows: number[][] = [];
    for (let i = 0; i < 200; i++) rows.push(centres[i % 4]!.map((c) => c + 0.1 * rng.normal()));
    const p = points(rows);
    // Independent evaluation with the true labels (i mod 4): the k-means optimum for such clusters.
    const mean = [0, 1, 2].map((j) => rows.reduce((a, r) => a + r[j]!, 0) / rows.length);
    const cm = centres.map((_, c) =>
      [0, 1, 2].map((j) => {
        const mine = rows.filter((_, i) => i % 4 === c);
        return mine.reduce((a, r) => a + r[j]!, 0) / mine.length;
      }),
    );
    let total = 0,
      within = 0;
    for (const [i, r] of rows.entries()) {
      for (const [j, x] of r.entries()) {
        total += (x - mean[j]!) ** 2;
        within += (x - cm[i % 4]![j]!) ** 2;
      }
    }
    expect(kmeansExplained(p, 4)).toBeCloseTo(1 - within / total, 12);
    expect(kmeansExplained(p, 4)).toBeGreaterThan(0.999);
  });

  it('NaN without dimensions, with no more points than centres, or when all points coincide', () => {
    expect(kmeansExplained({ data: new Float64Array(0), rows: 5, cols: 0 }, 2)).toBeNaN();
    expect(kmeansExplained(points([[1], [2], [3]]), 3)).toBeNaN();
    expect(
      kmeansExplained(
        points([
          [2, 2],
          [2, 2],
          [2, 2],
          [2, 2],
        ]),
        2,
      ),
    ).toBeNaN();
  });
});
