// experiments/: each experiment in its smallest mode against its key claims (teacher–student
// against the closed forms, the ring's transition, complete sweep cells), the parameter checks
// (ParamError, exit 2 from the CLI) and the helpers the experiments share.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { getExperiment, listExperiments } from '../src/experiments/registry.js';
import { cellKey, ParamError, resolveParams, type ExperimentContext } from '../src/experiments/types.js';
import { readResult } from '../src/experiments/record.js';
import { balancedProbeIndices, earlyDenseSchedule } from '../src/experiments/mlp.js';
import { subspaceOverlap } from '../src/experiments/lr-sweep.js';
import { parseExperimentFlags } from '../src/cli/experiment.js';
import { linearTeacherStudent } from '../src/models/index.js';
import { createRun, openRun } from '../src/store/index.js';
import { kernelSpikes } from '../src/experiments/training-summary.js';
import { bbpOutlier, invertBbpOutlier } from '../src/rmt/index.js';
import { Rng } from '../src/random.js';

const BIN = resolve('dist/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'specdyn-exp-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function context(out: string): ExperimentContext {
  return { out, signal: new AbortController().signal, progress: () => undefined, log: () => undefined };
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 110_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('registry and parameters', () => {
  it('lists the shipped experiments, each loading with documented parameters and valid quick overrides', async () => {
    const names = listExperiments().map((e) => e.name);
    for (const n of ['demo', 'teacher-student', 'mnist-cell', 'lr-sweep', 'ring']) expect(names).toContain(n);
    for (const n of names) {
      const e = await getExperiment(n);
      expect(e.name).toBe(n);
      for (const p of e.params) expect(p.doc.length).toBeGreaterThan(3);
      // Defaults and quick values pass their own checks.
      expect(() => resolveParams(e, {})).not.toThrow();
      expect(() => resolveParams(e, {}, true)).not.toThrow();
    }
  });

  it('bad parameters throw ParamError naming the parameter and the value', async () => {
    const ring = await getExperiment('ring');
    expect(() => resolveParams(ring, { n: 'abc' })).toThrow(ParamError);
    expect(() => resolveParams(ring, { n: 'abc' })).toThrow(
      "Expected an integer in [8, 5000] for ring.n but received 'abc'",
    );
    expect(() => resolveParams(ring, { bogus: 1 })).toThrow(ParamError);
    await expect(getExperiment('nope')).rejects.toThrow(ParamError);
    const ts = await getExperiment('teacher-student');
    await expect(ts.run(resolveParams(ts, { sizes: '128,64' }, true), context(join(root, 'bad')))).rejects.toThrow(
      "Expected at least two ascending sizes for teacher-student.sizes but received '128,64'",
    );
    const demo = await getExperiment('demo');
    await expect(demo.run(resolveParams(demo, { layers: '3,x' }), context(join(root, 'bad2')))).rejects.toThrow(
      "Expected a comma-separated list of integers ≥ 1 for demo.layers but received '3,x'",
    );
    expect(existsSync(join(root, 'bad2'))).toBe(false);
  });

  it('command-line flags map to parameters (kebab-case, =value, --no-, --quick, --out); unknown flags are ParamErrors', async () => {
    const cell = await getExperiment('mnist-cell');
    const f = parseExperimentFlags(cell, ['--inv-sigma-w', '2', '--lr=0.5', '--no-report', '--quick', '--out', 'x']);
    expect(f).toEqual({ given: { invSigmaW: '2', lr: '0.5', report: false }, quick: true, out: 'x', help: false });
    expect(resolveParams(cell, f.given, f.quick)).toMatchObject({ invSigmaW: 2, lr: 0.5, report: false, steps: 20 });
    expect(() => parseExperimentFlags(cell, ['--bogus', '1'])).toThrow(ParamError);
    expect(() => parseExperimentFlags(cell, ['--lr'])).toThrow('Expected a value for --lr but received undefined');
    expect(() => parseExperimentFlags(cell, ['stray'])).toThrow(ParamError);
  });

  it.each([
    [['experiment', 'ring', '--n', 'abc'], "error: Expected an integer in [8, 5000] for ring.n but received 'abc'"],
    [['experiment', 'nope'], 'error: Expected one of the experiments'],
    [['experiment', 'ring', '--bogus', '1'], "error: Expected a flag of 'ring'"],
    [['demo', '--steps', '0'], "error: Expected an integer in [1, 1000000] for demo.steps but received '0'"],
    [
      ['demo', '--layers', '3,x'],
      "error: Expected a comma-separated list of integers ≥ 1 for demo.layers but received '3,x'",
    ],
  ])('specdyn %j exits 2 with one line', (args, message) => {
    const r = cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
  });

  it('specdyn experiment lists the experiments; <name> --help lists its flags', () => {
    const list = cli(['experiment']);
    expect(list.code).toBe(0);
    for (const n of ['teacher-student', 'lr-sweep', 'ring', 'mnist-cell']) expect(list.stdout).toContain(n);
    const help = cli(['experiment', 'mnist-cell', '--help']);
    expect(help.code).toBe(0);
    for (const f of [
      '--lr <number>',
      '--inv-sigma-w <number>',
      '--seed <int>',
      '--report / --no-report',
      '--quick',
      '--out',
    ])
      expect(help.stdout).toContain(f);
  });
});

describe('shared helpers', () => {
  it('class-balanced probes: ⌊N/10⌋ (+1 for the first N mod 10 digits) per digit, first of each, ordered by digit', () => {
    const labels = Array.from({ length: 300 }, (_, i) => (i * 7) % 10);
    const idx = balancedProbeIndices(labels, 23);
    const counts = Array.from({ length: 10 }, (_, c) => idx.filter((i) => labels[i] === c).length);
    expect(counts).toEqual([3, 3, 3, 2, 2, 2, 2, 2, 2, 2]);
    expect(idx.map((i) => labels[i])).toEqual([...idx.map((i) => labels[i]!)].sort((a, b) => a - b));
    expect(idx.slice(0, 3)).toEqual([0, 10, 20]); // the first items of digit 0
    expect(() => balancedProbeIndices(labels, 301)).toThrow(RangeError);
  });

  it('the main job schedule: 0, log-spaced below every, every k, the last step', () => {
    expect(earlyDenseSchedule(250, 50)).toEqual([0, 1, 2, 4, 8, 16, 32, 50, 100, 150, 200, 250]);
    expect(earlyDenseSchedule(5, 50)).toEqual([0, 1, 2, 4, 5]);
  });

  it('q_C(k) is 1 for the same subspace (any basis), 0 for orthogonal ones, k/D on average for random ones', () => {
    const d = 6;
    const e = (i: number) => Array.from({ length: d }, (_, c) => (c === i ? 1 : 0));
    const c = Math.SQRT1_2;
    const a = [...e(0), ...e(1)];
    const rotated = [...e(0).map((x, i) => c * x + c * e(1)[i]!), ...e(0).map((x, i) => c * x - c * e(1)[i]!)];
    expect(subspaceOverlap(a, rotated, 2, d)).toBeCloseTo(1, 12);
    expect(subspaceOverlap(a, [...e(2), ...e(3)], 2, d)).toBe(0);
    // Random unit vectors in D = 200: E[(u·v)²] = 1/D.
    const rng = new Rng(3);
    let acc = 0;
    for (let t = 0; t < 400; t++) acc += subspaceOverlap(rng.unitVector(200), rng.unitVector(200), 1, 200);
    expect(acc / 400).toBeGreaterThan(0.5 / 200);
    expect(acc / 400).toBeLessThan(1.6 / 200);
  });

  it('detached spikes: the first step each k-th spike stands out, its eigenvalue and the BBP inversion to τ and θ', async () => {
    const dir = join(root, 'spikes');
    const w = await createRun(dir);
    const ratio = 0.5,
      variance = 2;
    const lam1 = variance * bbpOutlier({ snr: 1.5, ratio }),
      lam2 = variance * bbpOutlier({ snr: 1.1, ratio });
    const bulk = [0.5, 1, 1.5];
    const snap = (step: number, spikes: number[]) => ({
      step,
      observables: [
        {
          observable: 'dense/kernel',
          family: 'weights' as const,
          row: { num_spikes: spikes.length, ratio, variance_mp: variance, N: 50, M: 100 },
          arrays: { evals: Float64Array.from([...bulk, ...spikes].sort((a, b) => a - b)) },
        },
      ],
    });
    w.append(snap(0, []));
    w.append(snap(10, [lam1]));
    w.append(snap(20, [lam2, lam1 * 1.1]));
    await w.close();
    const [k] = kernelSpikes(await openRun(dir));
    expect(k).toMatchObject({ layer: 'dense/kernel', shape: [50, 100], initial: 0, final: 2 });
    expect(k!.detachments.map((d) => [d.k, d.step, d.eigenvalue])).toEqual([
      [1, 10, lam1],
      [2, 20, lam2],
    ]);
    expect(k!.detachments[0]!.snr).toBeCloseTo(1.5, 10);
    expect(k!.detachments[1]!.snr).toBeCloseTo(invertBbpOutlier(lam2, { ratio, variance }), 12);
    expect(k!.detachments[0]!.signal).toBeCloseTo(Math.sqrt(1.5 * variance), 10);
  });

  it('cell keys name sweep cells stably', () => {
    const p = { lr: 0.1, invSigmaW: 2, seed: 1 };
    expect(cellKey('mnist-cell', p)).toBe(cellKey('mnist-cell', { seed: 1, invSigmaW: 2, lr: 0.1 }));
    expect(cellKey('mnist-cell', p)).not.toBe(cellKey('mnist-cell', { ...p, seed: 2 }));
  });
});

describe('teacher-student --quick', () => {
  it('median q² ≈ 0 below ε_c and ≈ the closed form above; ε_c within 0.05 of 0.4568; a run and its report', async () => {
    const e = await getExperiment('teacher-student');
    const out = join(root, 'ts');
    const r = await e.run(resolveParams(e, {}, true), context(out));
    expect(r.report && existsSync(r.report)).toBe(true);
    expect((await openRun(out)).status).toBe('finished');
    const res = readResult(out);
    const cells = (res.data as { linear: { cells: { sigmaW: number; lr: number; q2: number; theoryQ2: number }[] } })
      .linear.cells;
    // Every cell well inside a phase, checked against the closed forms directly.
    let below = 0,
      above = 0;
    for (const c of cells) {
      const ec = linearTeacherStudent.criticalStep({ sigmaW: c.sigmaW, ratio: 0.5 });
      const ecp = linearTeacherStudent.upperCriticalStep({ sigmaW: c.sigmaW, ratio: 0.5 });
      if (c.lr < 0.6 * ec) {
        below++;
        expect(c.q2).toBeLessThan(0.1);
      } else if (c.lr > 1.6 * ec && c.lr < 0.6 * ecp) {
        above++;
        const theory = linearTeacherStudent.overlap({ sigmaW: c.sigmaW, ratio: 0.5, lr: c.lr });
        expect(Math.abs(c.q2 - theory)).toBeLessThan(0.1);
      }
    }
    expect(below).toBeGreaterThan(10);
    expect(above).toBeGreaterThan(10);
    expect(r.figures.criticalStepTheory).toBeCloseTo(0.4568, 4);
    expect(Math.abs((r.figures.criticalStepEstimate as number) - 0.4568)).toBeLessThan(0.05);
    expect(r.figures.medianQ2BelowCritical as number).toBeLessThan(0.05);
    expect(Math.abs(r.figures.medianQ2MinusTheoryAbove as number)).toBeLessThan(0.05);
    for (const id of ['ts-phase-diagram', 'ts-binder', 'ts-time', 'ts-finite-data'])
      expect(existsSync(join(out, 'figures', `${id}.svg`))).toBe(true);
  });
});

describe('ring --quick', () => {
  it('reports the collapse as a transition, as the run store reads it', async () => {
    const e = await getExperiment('ring');
    const out = join(root, 'ring');
    const r = await e.run(resolveParams(e, {}, true), context(out));
    expect(r.figures.verdict).toBe('transition');
    const regimes = (await openRun(out)).trajectory('particles').regimes();
    expect(regimes.verdict).toBe('transition');
    // The collapse: the S² triplet (uniform start) becomes the S¹ doublet of the ring.
    const collapse = regimes.transitions.find((t) => t.previousBandSize === 3 && t.bandSize === 2);
    expect(collapse).toBeDefined();
    expect(r.figures.transitionStep).toBe(collapse!.step);
    expect(r.figures.initialBandSize).toBe(3);
    expect(r.figures.finalBandSize).toBe(2);
    expect(r.summary.join('\n')).toContain(`transition at step ${collapse!.step}: band m̂ 3 → 2`);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  });
});

describe('lr-sweep --quick', () => {
  it('produces complete cells named by cellKey, each a finished run with a result; a second sweep reads them back', async () => {
    const e = await getExperiment('lr-sweep');
    const cell = await getExperiment('mnist-cell');
    const out = join(root, 'sweep');
    const params = resolveParams(e, {}, true);
    const r = await e.run(params, context(out));
    expect(r.figures.cells).toBe(4);
    expect(r.figures.complete).toBe(true);
    const dirs = readdirSync(join(out, 'cells'));
    // 4 grid cells plus the extra seed at each representative point.
    expect(dirs.length).toBeGreaterThanOrEqual(5);
    for (const d of dirs) {
      const res = readResult(join(out, 'cells', d));
      expect(d).toBe(cellKey('mnist-cell', res.params));
      expect(resolveParams(cell, res.params)).toEqual(res.params);
      expect((await openRun(join(out, 'cells', d))).status).toBe('finished');
      expect(res.figures.diverged === true || typeof res.figures.testAccuracy === 'number').toBe(true);
    }
    expect((await openRun(out)).status).toBe('finished');
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    // A second sweep over the same directory reads the cells back instead of rerunning them.
    const again = await e.run(params, context(out));
    expect(again.figures).toEqual(r.figures);
    for (const d of dirs) expect((await openRun(join(out, 'cells', d))).meta.sessions).toHaveLength(1);
  });
});
