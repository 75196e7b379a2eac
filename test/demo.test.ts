// The main job through the built bin: `specdyn demo` with a tiny --steps writes its run directory and
// report, and every figure of its printed summary is what the run store holds; `--synthetic` runs the
// synthetic showcase.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openRun } from '../src/store/index.js';
import { readResult } from '../src/experiments/record.js';

const BIN = resolve('dist/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'specdyn-demo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 110_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('specdyn demo', () => {
  it('writes its run and report; the printed summary matches the run store', async () => {
    const out = join(root, 'demo');
    const r = cli([
      'demo',
      ...['--steps', '12', '--every', '4', '--probe', '40', '--layers', '24,16', '--lr', '0.2', '--seed', '3'],
      ...['--train-size', '800', '--out', out],
    ]);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const run = await openRun(out);
    expect(run.status).toBe('finished');
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    const lines = r.stdout.split('\n');
    const line = (prefix: string) => lines.find((l) => l.startsWith(prefix)) ?? '';

    // Snapshots: 0, 1, 2, 4, 8, 12 (log-spaced early, every 4, the last step).
    const logs = run.rows({ family: 'logs' });
    expect(logs.map((l) => l.step)).toEqual([0, 1, 2, 4, 8, 12]);
    expect(line('backend: ')).toBe(`backend: ${run.meta.tfBackend}`);
    expect(line('training: ')).toMatch(/^training: 12 steps in [0-9.]+ s \([0-9.]+ steps\/s with 6 snapshots\)$/);
    // Test accuracy: the last snapshot's test_accuracy, on the 10 000 − 40 test images that are not probes.
    const acc = logs.at(-1)!.test_accuracy as number;
    expect(acc).toBeGreaterThan(0);
    expect(line('test accuracy: ')).toBe(
      `test accuracy: ${acc.toFixed(4)} on 9960 held-out test images (probes: 40, class-balanced)`,
    );
    // Probe labels: class-balanced, 4 of each digit, in digit order.
    const labels = (run.meta.meta.monitor as { probeLabels: number[] }).probeLabels;
    expect(labels).toEqual(Array.from({ length: 40 }, (_, i) => Math.floor(i / 4)));
    // Spike counts per kernel, first and last snapshot, as stored.
    const kernels = run.observables('weights');
    expect(kernels.length).toBe(3);
    for (const k of kernels) {
      const rows = run.rows({ family: 'weights', observable: k });
      const count = (x: unknown) => (Number.isFinite(x) ? (x as number) : 0);
      const printed = line(`${k} (`);
      expect(printed).toContain(
        `spikes ${count(rows[0]!.num_spikes)} at init → ${count(rows.at(-1)!.num_spikes)} at the end`,
      );
      expect(printed).toContain(`(${rows.at(-1)!.N} x ${rows.at(-1)!.M})`);
    }
    // OMD: one line per hidden layer, with the verdict the store's trajectory gives.
    for (const layer of ['hidden_1', 'hidden_2']) {
      const regimes = run.trajectory(layer).regimes();
      const printed = line(`${layer} OMD: `);
      expect(printed.endsWith(`; ${regimes.verdict}`)).toBe(true);
      for (const w of regimes.windows)
        expect(printed).toContain(`${w.startStep}–${w.endStep} ${w.label} (m̂=${w.bandSize})`);
    }
    expect(line('report: ')).toBe(`report: ${join(out, 'report.html')}`);
    // result.json holds the same summary.
    expect(readResult(out).summary).toEqual(lines.filter((l) => l && !l.startsWith('done in')));
  });

  it('--synthetic runs the synthetic showcase (the S² reading: exactly one positive eigenvalue)', () => {
    const r = cli(['demo', '--synthetic']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('positive eigenvalues: 1 (BBS: exactly 1)');
    expect(r.stdout).toContain('transition at step');
  });
});
