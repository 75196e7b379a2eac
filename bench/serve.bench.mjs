// Load benchmark of `specdyn serve` (docs/server.md, docs/performance.md "Serving under load").
// For each payload — a 500 x 500 float32 weight matrix (raw, POST /v1/weights) and a 1000 x 256
// float32 representation snapshot (.npy, POST /v1/omd) — and each of 1, 8 and 64 concurrent
// clients, a fresh server process (`specdyn serve`, maxConcurrent = hardware threads, queue =
// 4 x that) is loaded for a fixed time by undici clients on loopback. Each client posts, waits
// for the answer, and on 429/503 sleeps for Retry-After before its next post (a well-behaved
// client; SPECDYN_SERVE_BACKOFF=0 retries at once instead).
//
// Reported per cell: requests/s answered 200, p50/p99 latency of the 200s, counts by status,
// errors (5xx other than 503, and transport failures), the deepest queue seen on /v1/health,
// the server's peak RSS (VmHWM from /proc), and three checks: throughput at 64 ≥ at 8 (no
// collapse), p99 ≤ (queueLength/maxConcurrent + 2) x the p99 analysis time s the server reported
// in Server-Timing (the FIFO bound: at most s until a running analysis ends, (queueLength − 1)/
// maxConcurrent x s for the requests queued ahead, s for its own; upload and client time are not
// in it), peak RSS ≤ the documented ceiling.
//
// 8 and 64 clients run twice each way, with the analyses on the event loop (`--workers 0`) and
// in worker threads (`--workers <cores>`), interleaved A B B A and pooled; throughput counts
// only the answers completed inside each cell's window.
// SPECDYN_SERVE_SECONDS (default 5) sets the time per cell (the suite takes about 25 x that).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { benchDir, gaussian } from './lib.mjs';

const BIN = path.join(benchDir, '..', 'dist', 'cli', 'main.js');
const SECONDS = Number(process.env.SPECDYN_SERVE_SECONDS ?? 5);
const BACKOFF = process.env.SPECDYN_SERVE_BACKOFF !== '0';
// Worker threads of the second variant: one per running analysis (maxConcurrent = hardware threads).
const WORKERS = os.availableParallelism?.() ?? os.cpus().length;
const MIB = 1024 * 1024;

/** The documented RSS ceiling (docs/server.md "Memory"): base + workers + places x per-request + running x workspace. */
function rssCeiling({ maxConcurrent, queueLength, workers }, uploadBytes, workspaceBytes) {
  return (
    256 * MIB + workers * 20 * MIB + (maxConcurrent + queueLength) * 4 * uploadBytes + maxConcurrent * workspaceBytes
  );
}

function npyBytes(data, rows, cols) {
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = `${dict.padEnd(total - 11, ' ')}\n`;
  const pre = Buffer.alloc(10);
  pre.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  pre.writeUInt16LE(dict.length, 8);
  return Buffer.concat([pre, Buffer.from(dict, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

const PAYLOADS = (() => {
  const w = gaussian(500, 500, 11, Float32Array);
  const reps = gaussian(1000, 256, 12, Float32Array);
  return [
    {
      name: 'weights 500x500',
      path: '/v1/weights?shape=500x500&dtype=float32',
      body: Buffer.from(w.data.buffer),
      // svdvals of 500 x 500 in float64: the copy, the matrix LAPACK overwrites, work space.
      workspace: 6 * 500 * 500 * 8,
    },
    {
      name: 'omd 1000x256',
      path: '/v1/omd',
      body: npyBytes(reps.data, 1000, 256),
      // the float64 copy, the 1000 x 1000 distance matrix, eigh's copy, vectors and work space.
      workspace: 6 * 1000 * 1000 * 8,
    },
  ];
})();

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Starts `specdyn serve --port 0 --json` in a child process; resolves with its URL and pid. */
function startServer(workers) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json', '--workers', String(workers)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      try {
        const doc = JSON.parse(out);
        resolve({ child, url: doc.url, origin: new URL(doc.url).origin, limits: doc.limits });
      } catch {
        // not all of it yet
      }
    });
    child.on('exit', (code) => reject(new Error(`specdyn serve exited (${code}): ${err}`)));
  });
}

function stopServer(child) {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', () => resolve());
    child.kill('SIGINT');
  });
}

function peakRss(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One cell: a fresh server, `clients` clients for SECONDS. Throughput counts the 200s completed
 * inside the window (requests still in flight at its end are awaited for their status and
 * latency, not counted), so the drain of a full queue does not stretch the measured time.
 */
async function loadCell(payload, clients, workers) {
  const srv = await startServer(workers);
  const pool = new Pool(srv.origin, { connections: clients, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies = [];
  const analysis = [];
  const uploads = [];
  const waits = [];
  const statuses = {};
  let transport = 0;
  let inWindow = 0;
  let maxWaiting = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const request = async () => {
    const t0 = performance.now();
    try {
      const res = await pool.request({
        path: payload.path,
        method: 'POST',
        body: payload.body,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(payload.body.length) },
      });
      await res.body.text();
      const end = performance.now();
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      if (res.statusCode === 200) {
        latencies.push(end - t0);
        if (end <= deadline) inWindow++;
        const timing = String(res.headers['server-timing']);
        const phase = (name) => Number(new RegExp(`${name};dur=([\\d.]+)`).exec(timing)?.[1] ?? NaN);
        analysis.push(phase('analysis'));
        uploads.push(phase('upload'));
        waits.push(phase('queue'));
      }
      return res.statusCode === 429 || res.statusCode === 503 ? Number(res.headers['retry-after'] ?? 1) : 0;
    } catch {
      transport++;
      return 0.1;
    }
  };
  const client = async () => {
    while (performance.now() < deadline) {
      const wait = await request();
      if (wait > 0 && BACKOFF) await sleep(Math.min(wait * 1000, Math.max(0, deadline - performance.now())));
    }
  };
  const poller = (async () => {
    while (performance.now() < deadline) {
      try {
        const res = await fetch(`${srv.url}/health`);
        const h = /** @type {{ queue: { waiting: number } }} */ (await res.json());
        maxWaiting = Math.max(maxWaiting, h.queue.waiting);
      } catch {
        // the poller is best effort
      }
      await sleep(200);
    }
  })();
  await Promise.all(Array.from({ length: clients }, client));
  await poller;
  const rss = peakRss(srv.child.pid);
  await pool.close();
  await stopServer(srv.child);
  return { latencies, analysis, uploads, waits, statuses, transport, inWindow, maxWaiting, rss, limits: srv.limits };
}

/** The row of one payload x client count, from its cells (pooled). */
function summarise(payload, clients, workers, cells) {
  const latencies = cells.flatMap((c) => c.latencies).sort((a, b) => a - b);
  const analysis = cells.flatMap((c) => c.analysis).sort((a, b) => a - b);
  const uploads = cells.flatMap((c) => c.uploads).sort((a, b) => a - b);
  const waits = cells.flatMap((c) => c.waits).sort((a, b) => a - b);
  const statuses = {};
  for (const c of cells) for (const [k, n] of Object.entries(c.statuses)) statuses[k] = (statuses[k] ?? 0) + n;
  const count = (pred) =>
    Object.entries(statuses)
      .filter(([s]) => pred(Number(s)))
      .reduce((a, [, n]) => a + n, 0);
  const limits = cells[0].limits;
  const rss = Math.max(...cells.map((c) => c.rss));
  return {
    payload: payload.name,
    clients,
    workers,
    cells: cells.length,
    rps: cells.reduce((a, c) => a + c.inWindow, 0) / (cells.length * SECONDS),
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99),
    upload_p99_ms: percentile(uploads, 0.99),
    queue_p99_ms: percentile(waits, 0.99),
    analysis_p99_ms: percentile(analysis, 0.99),
    ok: statuses[200] ?? 0,
    r429: statuses[429] ?? 0,
    r503: statuses[503] ?? 0,
    other4xx: count((s) => s >= 400 && s < 500 && s !== 429),
    errors: count((s) => s >= 500 && s !== 503) + cells.reduce((a, c) => a + c.transport, 0),
    max_waiting: Math.max(...cells.map((c) => c.maxWaiting)),
    peak_rss_mib: rss / MIB,
    ceiling_mib: rssCeiling(limits, payload.body.length, payload.workspace) / MIB,
    p99_bound_ms: (limits.queueLength / limits.maxConcurrent + 2) * percentile(analysis, 0.99),
  };
}

export async function run() {
  const rows = [];
  const notes = [];
  const load0 = os.loadavg()[0];
  for (const payload of PAYLOADS) {
    // 1 client once; 8 and 64 interleaved A B B A, so that drift in the machine's load falls on both.
    // 1 client once; then 8 and 64 clients, each with the analyses on the event loop (workers 0)
    // and in WORKERS worker threads, in an A B B A order so that drift in the machine's load
    // falls on every variant alike.
    const cells = new Map();
    const order = [[1, 0]];
    for (const clients of [8, 64]) order.push([clients, 0], [clients, WORKERS], [clients, WORKERS], [clients, 0]);
    for (const [clients, workers] of order) {
      const key = `${clients}/${workers}`;
      if (!cells.has(key)) cells.set(key, []);
      cells.get(key).push(await loadCell(payload, clients, workers));
    }
    for (const [key, list] of cells) {
      const [clients, workers] = key.split('/').map(Number);
      rows.push(summarise(payload, clients, workers, list));
    }
  }
  const load1 = os.loadavg()[0];
  for (const payload of PAYLOADS) {
    const cells = rows.filter((r) => r.payload === payload.name);
    const at = (clients, workers) => cells.find((r) => r.clients === clients && r.workers === workers);
    for (const workers of [0, WORKERS]) {
      const ratio = at(64, workers).rps / at(8, workers).rps;
      notes.push(
        `${payload.name}, workers ${workers}: throughput at 64 clients / at 8 = ${ratio.toFixed(3)} (${ratio >= 1 ? 'no collapse' : 'LOWER at 64'})`,
      );
    }
    for (const clients of [8, 64])
      notes.push(
        `${payload.name}, ${clients} clients: throughput with ${WORKERS} workers / without = ${(at(clients, WORKERS).rps / at(clients, 0).rps).toFixed(3)}, upload p99 ${at(clients, WORKERS).upload_p99_ms.toFixed(0)} vs ${at(clients, 0).upload_p99_ms.toFixed(0)} ms`,
      );
    for (const r of cells) {
      notes.push(
        `${payload.name}, ${r.clients} clients, workers ${r.workers}: p99 ${r.p99_ms.toFixed(0)} ms vs bound (queue/concurrent + 2) x p99 analysis = ${r.p99_bound_ms.toFixed(0)} ms (${r.p99_ms <= r.p99_bound_ms ? 'within' : 'OVER'}); peak RSS ${r.peak_rss_mib.toFixed(0)} MiB vs ceiling ${r.ceiling_mib.toFixed(0)} MiB (${r.peak_rss_mib <= r.ceiling_mib ? 'under' : 'OVER'}); 5xx/transport errors ${r.errors}`,
      );
    }
  }
  notes.push(
    `${SECONDS} s per cell, clients ${BACKOFF ? 'honour Retry-After' : 'retry at once'}; load average ${load0.toFixed(2)} before, ${load1.toFixed(2)} after, on ${os.cpus().length} cores (the figures are as noisy as that load).`,
  );
  return { title: `specdyn serve under load (${SECONDS} s per cell, loopback)`, rows, notes };
}
