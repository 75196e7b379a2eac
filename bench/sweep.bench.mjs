// Sweep runners (dist/sweep): three figures for docs/scale-out.md.
//   1. Local throughput: a CPU-bound teacher-student-cell sweep with 1 cell process, 2 pinned to
//      one CPU each (the default) and 2 unpinned, interleaved (order rotated each repetition) so
//      that machine load hits all alike; ratios of medians. SWEEP_BENCH_REPEAT repetitions (3).
//   2. Queue overhead per cell: trivial cells through BullMQ on a loopback redis-server (one
//      worker, one cell process) vs the local runner with one cell process: the median gap
//      between one cell's end and the next one's start, queue minus local.
//   3. Recovery after a worker is SIGKILLed mid-cell: kill → the cell started again by another
//      worker, at the default settings and at short ones.
// Needs redis-server for 2 and 3 (node scripts/bootstrap.mjs --redis); without it they are
// reported as not measured.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { benchDir, median } from './lib.mjs';

const BIN = path.join(benchDir, '..', 'dist', 'cli', 'main.js');
const REPEAT = Number(process.env.SWEEP_BENCH_REPEAT ?? 3);
// The throughput sweep: 64 cells (8 x 8), so that the processes' start and the last cell's tail
// weigh as little as in a real sweep of hundreds of cells; SWEEP_BENCH_CELLS=16: a 4 x 4 grid
// (about 4 s per run, where start and tail cost 15-20 %).
const LR_GRID =
  process.env.SWEEP_BENCH_CELLS === '16'
    ? { inv: [0.5, 1, 2, 4], lr: [0.1, 0.5, 0.9, 1.5] }
    : { inv: [0.5, 0.7, 1, 1.4, 2, 2.8, 4, 5.6], lr: [0.1, 0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.5] };

async function freePort() {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => res(port));
    });
  });
}

async function startRedis(dir) {
  if (spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status !== 0) return undefined;
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  while (!out.includes('Ready to accept connections')) await new Promise((r) => setTimeout(r, 20));
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise((r) => {
        proc.on('exit', r);
        proc.kill('SIGTERM');
      }),
  };
}

/**
 * Median gap between one cell's end and the next cell's start, ms: what a runner spends per cell
 * outside the cell (one cell process, cells one after another). Medians keep load spikes out.
 */
function medianGap(events) {
  const gaps = [];
  for (let i = 0; i + 1 < events.length; i++)
    if (events[i].type === 'done' && events[i + 1].type === 'start') gaps.push(events[i + 1].t - events[i].t);
  return median(gaps);
}

const say = (line) => process.stderr.write(`[sweep bench] ${line}\n`);

export async function run() {
  const sw = await import('../dist/sweep/index.js');
  const tmp = mkdtempSync(path.join(tmpdir(), 'specdyn-sweep-bench-'));
  const rows = [];
  const notes = [];
  try {
    // 1. Throughput, 1 vs 2 cell processes. Cells of about half a second of one core: a CPU-bound
    // sweep, where the process start (~0.1 s) is not what is measured.
    const heavy = await sw.prepareSweep({
      experiment: 'teacher-student-cell',
      grid: { invSigmaW: LR_GRID.inv, lr: LR_GRID.lr },
      params: { n: 400, m: 800, replicas: 8 },
    });
    // Three ways, interleaved (the order rotated each repetition): 1 cell process, 2 pinned to a
    // CPU each (the default on Linux), 2 unpinned (--no-pin).
    const ways = [
      { name: '1', jobs: 1, pin: undefined },
      { name: '2 pinned', jobs: 2, pin: undefined },
      { name: '2 unpinned', jobs: 2, pin: false },
    ];
    const times = Object.fromEntries(ways.map((w) => [w.name, []]));
    const busy = Object.fromEntries(ways.map((w) => [w.name, []]));
    const firstStart = Object.fromEntries(ways.map((w) => [w.name, []]));
    const pinNotes = new Set();
    let k = 0;
    for (let r = 0; r < REPEAT; r++)
      for (let j = 0; j < ways.length; j++) {
        const way = ways[(j + r) % ways.length];
        const t0 = performance.now();
        let cellSeconds = 0;
        let first;
        const res = await sw.runSweep(heavy, {
          root: path.join(tmp, `heavy-${k++}`),
          jobs: way.jobs,
          ...(way.pin === false ? { pin: false } : { pin: way.jobs > 1 ? true : undefined }),
          log: (line) => way.jobs > 1 && way.pin !== false && pinNotes.add(line),
          onEvent: (e) => {
            if (e.type === 'done') cellSeconds += e.seconds;
            if (e.type === 'start') first ??= performance.now() - t0;
          },
        });
        if (res.failed.length) throw new Error(`bench cells failed: ${res.failed[0].error}`);
        const wall = (performance.now() - t0) / 1000;
        times[way.name].push(wall);
        firstStart[way.name].push(first);
        busy[way.name].push(cellSeconds / wall);
      }
    const t = Object.fromEntries(ways.map((w) => [w.name, median(times[w.name])]));
    const t1 = t['1'];
    rows.push({
      figure: `local, 1 cell process (${LR_GRID.inv.length * LR_GRID.lr.length} cells, N=400, 8 replicas)`,
      value: `${t1.toFixed(2)} s`,
      ratio: 1,
    });
    rows.push({
      figure: 'local, 2 cell processes, pinned (default)',
      value: `${t['2 pinned'].toFixed(2)} s`,
      ratio: t1 / t['2 pinned'],
    });
    rows.push({
      figure: 'local, 2 cell processes, unpinned (--no-pin)',
      value: `${t['2 unpinned'].toFixed(2)} s`,
      ratio: t1 / t['2 unpinned'],
    });
    notes.push(`pinning: ${[...pinNotes].join('; ') || 'no note'}`);
    // Per repetition (its three runs back to back), so that load drifting between repetitions cancels.
    const paired = (name) => median(times['1'].map((x, r) => x / times[name][r]));
    notes.push(
      `throughput per repetition (median of the ${REPEAT} paired ratios): pinned ${paired('2 pinned').toFixed(2)}x, unpinned ${paired('2 unpinned').toFixed(2)}x`,
    );
    notes.push(
      `start of the first cell (cell processes started, experiment loaded; median): ${ways.map((w) => `${median(firstStart[w.name]).toFixed(0)} ms (${w.name})`).join(', ')}`,
    );
    notes.push(
      `cells in flight on average (Σ cell time / wall): ${ways.map((w) => `${median(busy[w.name]).toFixed(2)} (${w.name})`).join(', ')}`,
    );
    notes.push(
      `throughput vs 1 process: pinned ${(t1 / t['2 pinned']).toFixed(2)}x, unpinned ${(t1 / t['2 unpinned']).toFixed(2)}x (goal ≥ 1.8x); runs ${ways.map((w) => `${w.name}: ${times[w.name].map((x) => x.toFixed(2)).join(', ')} s`).join('; ')}`,
    );

    const redis = await startRedis(tmp);
    if (!redis) {
      notes.push(
        'redis-server not installed: queue overhead and recovery not measured (node scripts/bootstrap.mjs --redis)',
      );
      return { title: 'Sweep runners', rows, notes };
    }
    try {
      say(`throughput: pinned ${(t1 / t['2 pinned']).toFixed(2)}x, unpinned ${(t1 / t['2 unpinned']).toFixed(2)}x`);
      // 2. Queue overhead per cell.
      const CELLS = 60;
      const light = await sw.prepareSweep({
        experiment: 'teacher-student-cell',
        grid: { lr: Array.from({ length: CELLS }, (_, i) => 0.01 + i * 0.01) },
        params: { n: 4, m: 8, replicas: 1 },
      });
      const perCell = [];
      for (let r = 0; r < REPEAT; r++) {
        const le = [];
        await sw.runSweep(light, {
          root: path.join(tmp, `light-local-${r}`),
          jobs: 1,
          onEvent: (e) => le.push({ type: e.type, t: performance.now() }),
        });
        const queue = `bench-${r}`;
        await sw.enqueueSweep(light, { redis: redis.url, root: path.join(tmp, `light-queue-${r}`), queue });
        const qe = [];
        await sw.runWorker({
          redis: redis.url,
          queue,
          jobs: 1,
          untilEmpty: true,
          onEvent: (e) => qe.push({ type: e.type, t: performance.now() }),
        });
        perCell.push({ queue: medianGap(qe), local: medianGap(le) });
      }
      const overhead = median(perCell.map((p) => p.queue - p.local));
      rows.push({
        figure: `queue overhead per cell (${CELLS} trivial cells, 1 worker, 1 cell process)`,
        value: `${overhead.toFixed(1)} ms`,
        ratio: null,
      });
      notes.push(
        `gap between cells (end → next start, median): queue ${perCell.map((p) => p.queue.toFixed(1)).join(', ')} ms, local ${perCell.map((p) => p.local.toFixed(1)).join(', ')} ms; overhead = queue − local (goal ≤ 50 ms)`,
      );
      say(`queue overhead: ${overhead.toFixed(1)} ms per cell`);
      // 3. Recovery after a SIGKILL mid-cell: one long cell, so the second worker is idle when
      //    the cell comes back and the figure is the queue's detection time alone.
      const slow = await sw.prepareSweep({
        experiment: 'teacher-student-cell',
        grid: { lr: [0.5] },
        params: { n: 500, m: 1000, replicas: 8 },
      });
      for (const [label, flags] of [
        ['defaults (lock 5000 ms, stalled check 2000 ms)', []],
        ['short (lock 2000 ms, stalled check 1000 ms)', ['--lock-duration', '2000', '--stalled-interval', '1000']],
      ]) {
        const queue = `recover-${flags.length}`;
        const start = (name) => {
          const proc = spawn(
            process.execPath,
            [BIN, 'sweep', 'worker', '--redis', redis.url, '--queue', queue, ...flags],
            {
              env: { ...process.env, NO_COLOR: '1' },
            },
          );
          const lines = [];
          let buf = '';
          proc.stderr.on('data', (d) => {
            buf += d;
            const parts = buf.split('\n');
            buf = parts.pop();
            for (const line of parts) lines.push({ t: performance.now(), line });
          });
          return { name, proc, lines, exit: new Promise((r) => proc.on('exit', r)) };
        };
        const started = (w) => w.lines.find((l) => l.line.startsWith('started cell'));
        // Both workers ready before the cell is queued; whichever takes it is killed at once, the
        // other is stopped (Ctrl-C) once it has run the cell.
        const ws = [start('a'), start('b')];
        while (!ws.every((w) => w.lines.some((l) => l.line.startsWith('worker '))))
          await new Promise((r) => setTimeout(r, 5));
        await sw.enqueueSweep(slow, { redis: redis.url, root: path.join(tmp, queue), queue });
        while (!ws.some(started)) await new Promise((r) => setTimeout(r, 2));
        const victim = ws.find(started);
        const rescuer = ws.find((w) => w !== victim);
        const key = started(victim).line.split(' ')[2];
        say(`killing worker ${victim.name} inside cell ${key}`);
        victim.proc.kill('SIGKILL');
        const killed = performance.now();
        await victim.exit;
        while (!rescuer.lines.some((l) => l.line.startsWith(`done cell ${key}`)))
          await new Promise((r) => setTimeout(r, 20));
        rescuer.proc.kill('SIGINT');
        await rescuer.exit;
        const again = rescuer.lines.find((l) => l.line.startsWith(`started cell ${key}`));
        const secs = again ? (again.t - killed) / 1000 : NaN;
        rows.push({ figure: `recovery after SIGKILL mid-cell, ${label}`, value: `${secs.toFixed(2)} s`, ratio: null });
      }
    } finally {
      await redis.stop();
    }
    notes.push(
      '2 cores shared with other work: wall times are noisy; the throughput ratio is measured interleaved in one run',
    );
    return { title: 'Sweep runners', rows, notes };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const res = await run();
  for (const r of res.rows) console.log(`${r.figure}: ${r.value}${r.ratio ? ` (${r.ratio.toFixed(2)}x)` : ''}`);
  for (const n of res.notes) console.log(`- ${n}`);
}
