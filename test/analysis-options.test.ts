// Unknown option keys in the analysis layers (rmt/, omd/): a TypeError naming the function, the
// key and the nearest valid key, thrown by Sync calls and rejected by async ones alike.
import { describe, expect, it } from 'vitest';
import { randn } from './helpers.js';
import {
  OmdTrajectory,
  analyzeObservable,
  analyzeObservableSync,
  bbpOutlier,
  bbpOverlap,
  clusterTemplate,
  detectSpikes,
  diffusiveTrajectory,
  fitMarchenkoPastur,
  fourierTemplate,
  iidResampleNull,
  iidResampleNullSync,
  invertBbpOutlier,
  levelSpacings,
  manifoldNoiseTemplate,
  marchenkoPastur,
  noiseTemplate,
  observableMatrix,
  observableMatrixSync,
  powerLawFit,
  reorganisationTrajectory,
  ringCollapseTrajectory,
  sphereTemplate,
  tracyWidomScale,
  unfold,
  weightSpectrum,
  weightSpectrumSync,
} from '../src/index.js';

const did = (fn: string, key: string, near: string) =>
  new TypeError(`Unknown option '${key}' for ${fn}; did you mean '${near}'?`);
const evals = Float64Array.from({ length: 40 }, (_, i) => 0.1 + i * 0.05);
const reps = randn(12, 5, 1);
const w = randn(20, 30, 2);

describe('rmt/: unknown options', () => {
  const cases: [string, () => unknown, string, string][] = [
    ['marchenkoPastur', () => marchenkoPastur({ ratio: 0.5, varience: 2 } as never), 'varience', 'variance'],
    [
      'fitMarchenkoPastur',
      () => fitMarchenkoPastur(evals, { ratio: 0.5, bootstap: 10 } as never),
      'bootstap',
      'bootstrap',
    ],
    ['powerLawFit', () => powerLawFit(evals, { minTial: 5 } as never), 'minTial', 'minTail'],
    ['bbpOutlier', () => bbpOutlier({ snr: 2, ratio: 0.5, varaince: 1 } as never), 'varaince', 'variance'],
    ['bbpOverlap', () => bbpOverlap({ snr: 2, ratio: 0.5, sied: 'right' } as never), 'sied', 'side'],
    ['invertBbpOutlier', () => invertBbpOutlier(5, { ratio: 0.5, varianc: 1 } as never), 'varianc', 'variance'],
    ['tracyWidomScale', () => tracyWidomScale({ rows: 10, cols: 20, colls: 3 } as never), 'colls', 'cols'],
    [
      'detectSpikes',
      () => detectSpikes(evals, { upper: 2, variance: 1 }, { rows: 10, cols: 20, margn: 1 } as never),
      'margn',
      'margin',
    ],
    ['unfold', () => unfold(evals, { by: 'polynomial', degre: 3 } as never), 'degre', 'degree'],
    ['levelSpacings', () => levelSpacings(evals, { by: 'polynomial', trimm: 0.1 } as never), 'trimm', 'trim'],
    ['weightSpectrumSync', () => weightSpectrumSync(w, { kernal: true } as never), 'kernal', 'kernel'],
  ];
  for (const [name, run, key, near] of cases) {
    it(`${name}: '${key}' → did you mean '${near}'`, () => {
      expect(run).toThrow(did(name.replace(/Sync$/, ''), key, near));
    });
  }

  it('unfold checks the keys of the chosen method', () => {
    expect(() => unfold(evals, { by: 'mp', ratio: 0.5, degree: 3 } as never)).toThrow(
      new TypeError("Unknown option 'degree' for unfold; valid options: 'by', 'ratio', 'variance'"),
    );
  });

  it('weightSpectrum: async rejects what Sync throws; the randomize object is checked too', async () => {
    await expect(weightSpectrum(w, { patialAbove: 3 } as never)).rejects.toThrow(
      did('weightSpectrum', 'patialAbove', 'partialAbove'),
    );
    expect(() => weightSpectrumSync(w, { patialAbove: 3 } as never)).toThrow(
      did('weightSpectrum', 'patialAbove', 'partialAbove'),
    );
    await expect(weightSpectrum(w, { randomize: { replica: 2 } } as never)).rejects.toThrow(
      did("weightSpectrum option 'randomize'", 'replica', 'replicas'),
    );
  });
});

describe('omd/: unknown options', () => {
  it('observableMatrix and analyzeObservable, async and Sync', async () => {
    await expect(observableMatrix(reps, { metirc: 'cosine' } as never)).rejects.toThrow(
      did('observableMatrix', 'metirc', 'metric'),
    );
    expect(() => observableMatrixSync(reps, { precison: 'float32' } as never)).toThrow(
      did('observableMatrix', 'precison', 'precision'),
    );
    // observableMatrix takes only the distance options
    expect(() => observableMatrixSync(reps, { maxBand: 3 } as never)).toThrow(
      new TypeError("Unknown option 'maxBand' for observableMatrix; valid options: 'metric', 'precision'"),
    );
    await expect(analyzeObservable(reps, { maxBnad: 3 } as never)).rejects.toThrow(
      did('analyzeObservable', 'maxBnad', 'maxBand'),
    );
    expect(() => analyzeObservableSync(reps, { rotue: 'full' } as never)).toThrow(
      did('analyzeObservable', 'rotue', 'route'),
    );
  });

  it('OmdTrajectory, its regimes(), and iidResampleNull (async and Sync)', async () => {
    expect(() => new OmdTrajectory({ concurency: 2 } as never)).toThrow(
      did('OmdTrajectory', 'concurency', 'concurrency'),
    );
    expect(() => new OmdTrajectory({ bottomk: 2 } as never)).toThrow(did('OmdTrajectory', 'bottomk', 'bottomK'));
    expect(() => new OmdTrajectory().regimes({ minOverlapp: 0.5 } as never)).toThrow(
      did('OmdTrajectory.regimes', 'minOverlapp', 'minOverlap'),
    );
    await expect(iidResampleNull(reps, { replica: 2 } as never)).rejects.toThrow(
      did('iidResampleNull', 'replica', 'replicas'),
    );
    expect(() => iidResampleNullSync(reps, { methd: 'shuffle' } as never)).toThrow(
      did('iidResampleNull', 'methd', 'method'),
    );
  });

  it('the templates', () => {
    const cases: [string, () => unknown, string, string][] = [
      ['sphereTemplate', () => sphereTemplate({ n: 10, distnce: 'chord' } as never), 'distnce', 'distance'],
      ['clusterTemplate', () => clusterTemplate({ n: 10, sprad: 1 } as never), 'sprad', 'spread'],
      ['fourierTemplate', () => fourierTemplate({ frequency: [1] } as never), 'frequency', 'frequencies'],
      ['noiseTemplate', () => noiseTemplate({ sigm: 1 } as never), 'sigm', 'sigma'],
      ['manifoldNoiseTemplate', () => manifoldNoiseTemplate({ ambientdim: 5 } as never), 'ambientdim', 'ambientDim'],
      ['ringCollapseTrajectory', () => ringCollapseTrajectory({ temperatur: 1 } as never), 'temperatur', 'temperature'],
      ['diffusiveTrajectory', () => diffusiveTrajectory({ rotaton: 1 } as never), 'rotaton', 'rotation'],
      ['reorganisationTrajectory', () => reorganisationTrajectory({ switchat: 3 } as never), 'switchat', 'switchAt'],
    ];
    for (const [name, run, key, near] of cases) expect(run, name).toThrow(did(name, key, near));
  });

  it('valid options, undefined and null still pass', () => {
    expect(analyzeObservableSync(reps, { maxBand: 3, route: 'full' }).n).toBe(12);
    expect(analyzeObservableSync(reps, null as never).n).toBe(12);
    expect(marchenkoPastur({ ratio: 0.5 }).upper).toBeCloseTo((1 + Math.SQRT1_2) ** 2, 14);
  });
});
