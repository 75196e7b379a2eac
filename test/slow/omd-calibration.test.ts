// The held-out calibration run at N = 2000 without labels (test/omd-calibration.test.ts has the
// fixture description): the unlabelled reading of one snapshot does not depend on the probe
// count. Slow (two N = 2000 snapshots with their shuffle nulls): `npm run test:slow`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { analyzeObservableSync } from '../../src/omd/index.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'omd');
const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as {
  snapshots: { step: number; file: string; rows: number; cols: number; scale: number }[];
};

it('trained and initial second hidden layer, no labels: the same fingerprint and decision at N = 500 and N = 2000, never noise', () => {
  for (const snap of meta.snapshots) {
    const q = readFileSync(path.join(dir, snap.file));
    const out = [500, 2000].map((n) =>
      analyzeObservableSync({
        data: Float64Array.from(q.subarray(0, n * snap.cols), (v) => v * snap.scale),
        rows: n,
        cols: snap.cols,
      }),
    );
    for (const s of out) {
      expect(s.band.fingerprint).not.toBe('noise');
      expect(s.band.z).toBeGreaterThan(10);
    }
    expect(out[0]!.band.fingerprint).toBe(out[1]!.band.fingerprint);
    expect(out[0]!.band.decision).toBe(out[1]!.band.decision);
    // The band size counts eigenvalues above an N-dependent null edge: within ±3 of each other.
    expect(Math.abs(out[0]!.band.size - out[1]!.band.size)).toBeLessThanOrEqual(3);
  }
});
