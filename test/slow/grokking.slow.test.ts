// The grokking experiment's quick mode end to end (≈ 1 min on a loaded machine, hence slow): it
// groks within its step budget, and its run directory holds the OMD figures of both layers at
// every snapshot, the accuracies, the measurements of every run and the report.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getExperiment } from '../../src/experiments/registry.js';
import { resolveParams, type ExperimentResult } from '../../src/experiments/types.js';
import type { GrokkingRunRecord } from '../../src/experiments/grokking.js';
import { openRun } from '../../src/store/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-grokking-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('grokking --quick', () => {
  it('groks within its budget and records OMD snapshots of the embedding and hidden layers', async () => {
    const exp = await getExperiment('grokking');
    const params = resolveParams(exp, {}, true);
    const out = path.join(tmp, 'quick');
    const progress: number[] = [];
    const result: ExperimentResult = await exp.run(params, {
      out,
      signal: new AbortController().signal,
      progress: (done, total) => progress.push(done / total),
      log: () => {},
    });
    expect(result.dir).toBe(out);
    expect(result.figures.seeds).toBe(1);
    expect(result.figures.grokked).toBe(1);
    expect(progress[progress.length - 1]).toBe(1);

    const run = await openRun(out);
    expect(run.status).toBe('finished');
    expect(run.meta.tfBackend).toBe(result.figures.backend);
    const steps = params.steps as number;
    const every = params.snapshotEvery as number;
    // Accuracies: the jump is the first snapshot with test accuracy ≥ 0.9, within the budget.
    const logs = run.rows({ family: 'logs' });
    const jump = logs.find((r) => (r.val_acc as number) >= 0.9);
    expect(jump).toBeDefined();
    expect(jump!.step).toBeLessThanOrEqual(steps);
    expect(jump!.step).toBe(result.figures.jumpStepMedian);
    expect(logs[logs.length - 1]!.val_acc as number).toBeGreaterThan(0.9);
    expect(logs[logs.length - 1]!.acc as number).toBeGreaterThan(0.99);
    // OMD: one row per snapshot per layer, N = probes, with the band figures the detector reads.
    expect(run.observables('omd').sort()).toEqual(['embed', 'hidden']);
    for (const layer of ['embed', 'hidden']) {
      const rows = run.rows({ family: 'omd', observable: layer });
      expect(rows.map((r) => r.step)).toEqual(logs.map((r) => r.step));
      expect(rows[1]!.step).toBe(every);
      for (const r of rows) {
        expect(r.n).toBe(params.probes);
        expect(Number.isFinite(r.band_gap_ratio as number)).toBe(true);
        expect(typeof r.band_clear).toBe('boolean');
      }
      const spectrum = run.array(rows[rows.length - 1]!.step, layer, 'values', 'omd') as Float64Array;
      expect(spectrum.length).toBe(params.probes);
      // Ascending spectrum, Perron value last and positive.
      expect(spectrum[spectrum.length - 1]!).toBeGreaterThan(0);
      for (let i = 1; i < spectrum.length; i++) expect(spectrum[i]!).toBeGreaterThanOrEqual(spectrum[i - 1]!);
    }
    expect(run.observables('weights').sort()).toEqual(['embed', 'hidden', 'logits']);
    // Probe labels (a + b mod p) recorded for the held set.
    const monitor = run.meta.meta.monitor as { probeLabels: number[] };
    expect(monitor.probeLabels.length).toBe(params.probes);
    expect(Math.max(...monitor.probeLabels)).toBeLessThan(params.p as number);

    // The measurements of all three runs, and the controls' own run directories.
    const g = run.meta.meta.grokking as { runs: GrokkingRunRecord[] };
    expect(g.runs.map((r) => r.condition)).toEqual(['grok', 'no-decay', 'small-fraction']);
    const grok = g.runs[0]!;
    expect(grok.finalTestAcc).toBeGreaterThan(0.9);
    expect(grok.lastStep).toBe(grok.jumpStep! + (params.afterJump as number));
    // Weight decay concentrates the grokked embedding on few frequencies.
    expect(grok.fourierTop5Final).toBeGreaterThan(grok.fourierTop5Init + 0.1);
    for (const r of g.runs.slice(1)) {
      const c = await openRun(path.join(out, r.dir));
      expect(c.status).toBe('finished');
      expect(c.rows({ family: 'omd', observable: 'hidden' }).length).toBe(r.lastStep / every + 1);
      if (r.jumpStep === null) expect(r.lastStep).toBe(steps);
    }
    const alarms = g.runs.filter((r) => r.condition !== 'grok' && r.jumpStep === null && r.hidden.alarmStep !== null);
    expect(result.figures.falseAlarms).toBe(alarms.length);
    expect(result.report).toBe(path.join(out, 'report.html'));
    expect(fs.readFileSync(result.report!, 'utf8')).toContain('<svg');
  });
});
