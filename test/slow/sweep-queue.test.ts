// sweep/ queue through a real Redis: Debian's redis-server on a free loopback port (no
// persistence), 3 `specdyn sweep worker` processes, one SIGKILLed while it holds a cell; the
// killed worker's cell is re-run by another worker, and the merged table is the one a local
// run gives. redis-server is installed by `node scripts/bootstrap.mjs --redis` when missing;
// when it cannot be, this file fails and says so (it is never skipped).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellKey } from '../../src/experiments/types.js';
import { allowedCpus, findTaskset, parseCpuList } from '../../src/sweep/affinity.js';
import { BIN, CELLS, cli, freePort } from '../sweep-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'specdyn-sweep-queue-'));
const SWEEP = {
  experiment: 'teacher-student-cell',
  grid: { invSigmaW: [0.5, 1, 2], lr: [0.1, 0.6, 1.5] },
  seeds: [0, 1],
  params: { n: 30, m: 60, replicas: 4 },
};
// Short settings so the test recovers in a few seconds (the defaults are 5000 / 2000).
const QUEUE_FLAGS = ['--lock-duration', '2000', '--stalled-interval', '1000'];

let redis: ChildProcess | undefined;
let url = '';
const children: ChildProcess[] = [];

function haveRedis(): boolean {
  return spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0;
}

/** A worker process; its stderr lines are collected with the time they arrived. */
function worker(env: Record<string, string> = {}) {
  const proc = spawn(
    process.execPath,
    [BIN, 'sweep', 'worker', '--redis', url, '--until-empty', '--experiments', CELLS, ...QUEUE_FLAGS],
    { env: { ...process.env, NO_COLOR: '1', ...env } },
  );
  children.push(proc);
  const lines: { t: number; line: string }[] = [];
  let buf = '';
  proc.stderr!.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const line of parts) lines.push({ t: performance.now(), line });
  });
  const exit = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  return { proc, lines, exit };
}

async function until(cond: () => boolean, what: string, limitMs = 120_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  expect(existsSync(BIN), 'dist/cli/main.js is missing: run node scripts/bootstrap.mjs (or npx tsc)').toBe(true);
  if (!haveRedis()) spawnSync(process.execPath, ['scripts/bootstrap.mjs', '--redis', '--quiet'], { stdio: 'inherit' });
  if (!haveRedis())
    throw new Error(
      'redis-server is not installed and could not be installed: run `node scripts/bootstrap.mjs --redis` as root (or apt-get install redis-server)',
    );
  const port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', root],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  redis.stdout!.on('data', (d) => (out += d));
  await until(() => out.includes('Ready to accept connections'), 'redis-server to start', 20_000);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (redis) {
    const gone = new Promise((r) => redis!.on('exit', r));
    redis.kill('SIGTERM');
    await gone;
  }
  rmSync(root, { recursive: true, force: true });
});

describe('sweep queue on Redis', () => {
  it('3 workers, one SIGKILLed mid-cell: every cell completes once in place, and the table equals the local run', async () => {
    const file = join(root, 'small.json');
    writeFileSync(file, JSON.stringify(SWEEP));
    const local = join(root, 'local');
    expect(cli(['sweep', 'run', file, '--out', local, '--jobs', '2']).code).toBe(0);
    expect(cli(['sweep', 'collect', local, '--no-report']).code).toBe(0);

    const queued = join(root, 'queued');
    const enq = cli(['sweep', 'enqueue', file, '--redis', url, '--out', queued, '--json']);
    expect(enq.code, enq.stderr).toBe(0);
    expect(JSON.parse(enq.stdout)).toMatchObject({ total: 18, added: 18, complete: 0 });
    // Enqueueing again adds nothing (one job per cell).
    expect(JSON.parse(cli(['sweep', 'enqueue', file, '--redis', url, '--out', queued, '--json']).stdout)).toMatchObject(
      {
        added: 0,
        pending: 18,
      },
    );

    // Worker A hangs inside its first cell (after the experiment wrote its run directory), then is killed.
    const marker = join(root, 'hung');
    const a = worker({ SWEEP_TEST_HANG: marker });
    await until(() => existsSync(marker), 'worker A to be inside a cell');
    const b = worker(),
      c = worker();
    await until(() => b.lines.some((l) => l.line.startsWith('done cell')), 'worker B to complete a cell');
    const status = cli(['sweep', 'status', '--redis', url, '--json']);
    expect(status.code, status.stderr).toBe(0);
    const hungTmp = readFileSync(marker, 'utf8');
    const hungKey = JSON.parse(status.stdout)
      .active.map((j: { key: string }) => j.key)
      .find((k: string) => hungTmp.includes(k));
    expect(hungKey, 'the hung cell is listed as running').toBeDefined();
    a.proc.kill('SIGKILL');
    const killedAt = performance.now();
    expect(await a.exit).toBe(null);
    // Mid-cell: the killed worker's run directory is only a temporary one; the cell is absent.
    expect(existsSync(hungTmp)).toBe(true);
    expect(existsSync(join(queued, hungKey))).toBe(false);
    const [codeB, codeC] = await Promise.all([b.exit, c.exit]);
    expect([codeB, codeC]).toEqual([0, 0]);

    // The hung cell was taken again by B or C.
    const rerun = [...b.lines, ...c.lines].find((l) => l.line.startsWith(`started cell ${hungKey}`));
    expect(rerun, 'the killed worker’s cell was started again by another worker').toBeDefined();
    console.log(
      `recovery: the killed worker's cell restarted ${((rerun!.t - killedAt) / 1000).toFixed(2)} s after the kill`,
    );
    const doneLines = [...b.lines, ...c.lines]
      .filter((l) => l.line.startsWith('done cell'))
      .map((l) => l.line.split(' ')[2]);
    expect(new Set(doneLines).size).toBe(18);

    const st = JSON.parse(cli(['sweep', 'status', '--redis', url, '--json']).stdout);
    expect(st.counts).toMatchObject({ completed: 18, failed: 0, active: 0, waiting: 0 });

    const col = cli(['sweep', 'collect', queued, '--no-report', '--json']);
    expect(col.code, col.stderr).toBe(0);
    expect(readFileSync(join(queued, 'sweep.csv'), 'utf8')).toBe(readFileSync(join(local, 'sweep.csv'), 'utf8'));
    expect(readFileSync(join(queued, 'sweep.arrow'))).toEqual(readFileSync(join(local, 'sweep.arrow')));
    expect(hungKey).toBe(
      cellKey('teacher-student-cell', JSON.parse(readFileSync(join(queued, hungKey, 'cell.json'), 'utf8')).params),
    );
  });

  it('a cell that keeps failing is retried with backoff, then failed: listed by status and by collect', async () => {
    const file = join(root, 'flaky.json');
    writeFileSync(file, JSON.stringify({ experiment: 'flaky-cell', grid: { x: [1, 2, 3] } }));
    const out = join(root, 'flaky');
    const log = join(root, 'flaky.log');
    const queue = ['--queue', 'flaky'];
    expect(
      cli([
        'sweep',
        'enqueue',
        file,
        '--redis',
        url,
        '--out',
        out,
        ...queue,
        '--attempts',
        '2',
        '--backoff',
        '200',
        '--experiments',
        CELLS,
      ]).code,
    ).toBe(0);
    const w = cli(
      ['sweep', 'worker', '--redis', url, ...queue, '--until-empty', '--experiments', CELLS, ...QUEUE_FLAGS],
      {
        SWEEP_TEST_FAIL: '2',
        SWEEP_TEST_LOG: log,
      },
    );
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toContain('failed (attempt 1): flaky-cell fails at x=2 on purpose');
    expect(w.stderr).toContain('failed (attempt 2, final): flaky-cell fails at x=2 on purpose');
    expect(readFileSync(log, 'utf8').trim().split('\n').sort()).toEqual(['1.0', '2.0', '2.0', '3.0']);
    const st = JSON.parse(cli(['sweep', 'status', '--redis', url, ...queue, '--json']).stdout);
    expect(st.counts).toMatchObject({ completed: 2, failed: 1 });
    expect(st.failed).toHaveLength(1);
    expect(st.failed[0]).toMatchObject({ attempts: 2, error: 'flaky-cell fails at x=2 on purpose' });
    const col = cli(['sweep', 'collect', out, '--no-report']);
    expect(col.code).toBe(1);
    expect(col.stderr).toContain('2 of 3 cells are complete (0 missing, 1 failed)');

    // Enqueue again: the failed job is retried, the complete cells are not enqueued; now it passes.
    const again = JSON.parse(
      cli(['sweep', 'enqueue', file, '--redis', url, '--out', out, ...queue, '--json', '--experiments', CELLS]).stdout,
    );
    expect(again).toMatchObject({ complete: 2, retried: 1, added: 0 });
    writeFileSync(log, '');
    expect(
      cli(['sweep', 'worker', '--redis', url, ...queue, '--until-empty', '--experiments', CELLS], {
        SWEEP_TEST_LOG: log,
      }).code,
    ).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('2.0\n');
    expect(cli(['sweep', 'collect', out, '--no-report']).code).toBe(0);
  });

  it('a worker with 2 cell processes pins them like the local runner; --no-pin leaves the full set', () => {
    const allowed = allowedCpus();
    const pins = !!allowed && allowed.length >= 2 && !!findTaskset();
    const file = join(root, 'affinity.json');
    writeFileSync(file, JSON.stringify({ experiment: 'affinity-cell', grid: { x: [0, 1, 2, 3, 4, 5] } }));
    const cpusOf = (flags: string[], name: string) => {
      const out = join(root, name);
      const queue = ['--queue', name];
      expect(cli(['sweep', 'enqueue', file, '--redis', url, '--out', out, ...queue, '--experiments', CELLS]).code).toBe(
        0,
      );
      const w = cli([
        'sweep',
        'worker',
        '--redis',
        url,
        ...queue,
        '--jobs',
        '2',
        '--until-empty',
        '--experiments',
        CELLS,
        ...flags,
      ]);
      expect(w.code, w.stderr).toBe(0);
      const byPid = new Map<number, string>();
      for (let x = 0; x < 6; x++) {
        const f = JSON.parse(readFileSync(join(out, cellKey('affinity-cell', { x, crash: 0 }), 'cell.json'), 'utf8'))
          .figures as { pid: number; cpus: string; threads: string };
        expect(f.threads).toBe(f.cpus);
        byPid.set(f.pid, f.cpus);
      }
      return { stderr: w.stderr, cpus: [...byPid.values()].sort() };
    };
    const auto = cpusOf([], 'affinity-auto');
    const off = cpusOf(['--no-pin'], 'affinity-off');
    const fullList = (cpus: string[]) => new Set(cpus).size === 1 && parseCpuList(cpus[0]!)!.join() === allowed!.join();
    if (pins) {
      // One CPU per process, a different one each (a fast queue may leave the second process unused).
      for (const c of auto.cpus) expect([String(allowed![0]), String(allowed![1])]).toContain(c);
      expect(new Set(auto.cpus).size).toBe(auto.cpus.length);
      expect(auto.stderr).toContain(`pinning cell processes to CPU ${allowed![0]}, ${allowed![1]}`);
    } else expect(fullList(auto.cpus)).toBe(true);
    expect(fullList(off.cpus)).toBe(true);
    expect(off.stderr).not.toContain('pinning cell processes');
  });
});
