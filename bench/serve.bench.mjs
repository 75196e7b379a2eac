// Load benchmark of `specdyn serve` (docs/server.md, docs/performance.md "Serving under load").
// For each payload — a 500 x 500 float32 weight matrix (raw, POST /v1/weights) and a 1000 x 256
// float32 representation snapshot (.npy, POST /v1/omd) — and each of 1, 8 and 64 concurrent
// clients, a fresh server process (`specdyn serve`, maxConcurrent = hardware threads, queue =
// 4 x that, workers as the server's default unless SPECDYN_SERVE_WORKERS says otherwise) is
// loaded for a fixed time on loopback by clients of two kinds:
// - plain: undici, the body sent with the headers (a refused request has uploaded its body,
//   which the server reads and discards to keep the connection);
// - expect: node:http with a keep-alive Agent and `Expect: 100-continue` (undici refuses that
//   header on HTTP/1.1): the body is sent only after `100 Continue`, so a refused request
//   uploads nothing (the server closes that connection; the next request opens another).
// Each client posts, waits for the answer, and on 429/503 sleeps for Retry-After before its next
// post (a well-behaved client; SPECDYN_SERVE_BACKOFF=0 retries at once instead).
//
// Reported per cell: requests/s answered 200, p50/p99 latency of the 200s, counts by status,
// errors (5xx other than 503, and transport failures), the deepest queue seen on /v1/health,
// the server's peak RSS (VmHWM from /proc), and three checks: throughput at 64 ≥ at 8 (no
// collapse), p99 ≤ ((queueLength + holdLength)/maxConcurrent + 2) x the p99 analysis time s the server reported
// in Server-Timing (the FIFO bound: the hold line ahead, holdLength/maxConcurrent x s at most; at most s until a running analysis ends, (queueLength − 1)/
// maxConcurrent x s for the requests queued ahead, s for its own; upload and client time are not
// in it), peak RSS ≤ the documented ceiling.
//
// 1 client runs once per kind; 8 and 64 clients run twice per kind, in an order symmetric about
// its middle (so that a linear drift in the machine's load cancels in the kind and in the 64/8
// comparisons), and are pooled; throughput counts only the answers completed inside each cell's
// window after its first second (SPECDYN_SERVE_WARMUP). SPECDYN_SERVE_WORKERS=0,2 (a list; 'default' = the server's default) repeats every
// cell for each worker count, interleaved within each step. Last, the cost of one refusal: a server whose only place is
// held answers 300 requests of each kind with 429, and the server's CPU time (/proc) per refusal
// is reported, with the client's.
// SPECDYN_SERVE_HEAP_GROWTH passes --heap-growth to the server (0: V8's own heap growth).
// SPECDYN_SERVE_SECONDS (default 5) sets the time per cell (the suite takes about 25 x that);
// SPECDYN_SERVE_ROUNDS=R runs the symmetric sequence of 8- and 64-client cells R times, and each
// 64-client cell is also compared with the 8-client cell next to it (a ratio per adjacent pair,
// with a 95 % interval over the pairs, for throughput and for server CPU per answer).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { Pool } from 'undici';
import { benchDir, gaussian } from './lib.mjs';

const BIN = path.join(benchDir, '..', 'dist', 'cli', 'main.js');
const SECONDS = Number(process.env.SPECDYN_SERVE_SECONDS ?? 5);
// Throughput counts the answers completed after this warm-up (SPECDYN_SERVE_WARMUP, default 1 s):
// the steady rate, not the start of 64 clients connecting and uploading at once.
const WARMUP_SECONDS = Number(process.env.SPECDYN_SERVE_WARMUP ?? 1);
const BACKOFF = process.env.SPECDYN_SERVE_BACKOFF !== '0';
// Worker counts to run (undefined: the server's default, no --workers flag).
const WORKER_VARIANTS = (process.env.SPECDYN_SERVE_WORKERS ?? 'default')
  .split(',')
  .map((w) => (w.trim() === 'default' ? undefined : Number(w)));
const KINDS = ['plain', 'expect'];
// The server's hold line (--hold; undefined: its default, 32 x maxConcurrent). SPECDYN_SERVE_HOLD=0 refuses at once.
const HOLD = process.env.SPECDYN_SERVE_HOLD;
// SPECDYN_SERVE_ROUNDS: how many times the symmetric sequence of 8- and 64-client cells runs (default 1).
const ROUNDS = Number(process.env.SPECDYN_SERVE_ROUNDS ?? 1);
// The server's V8 heap growth (--heap-growth, percent; undefined: its default). SPECDYN_SERVE_HEAP_GROWTH=0 leaves it to V8.
const HEAP_GROWTH = process.env.SPECDYN_SERVE_HEAP_GROWTH;
const MIB = 1024 * 1024;

/** The documented RSS ceiling (docs/server.md "Memory"): base + workers + places x per-request + running x workspace. */
function rssCeiling({ maxConcurrent, queueLength, holdLength, workers }, uploadBytes, workspaceBytes) {
  return (
    256 * MIB +
    workers * 20 * MIB +
    (maxConcurrent + queueLength) * 4 * uploadBytes +
    maxConcurrent * workspaceBytes +
    holdLength * 128 * 1024
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
function startServer(workers, extra = []) {
  return new Promise((resolve, reject) => {
    const flags = [
      ...(workers === undefined ? [] : ['--workers', String(workers)]),
      ...(HOLD === undefined || extra.includes('--hold') ? [] : ['--hold', HOLD]),
      ...(HEAP_GROWTH === undefined ? [] : ['--heap-growth', HEAP_GROWTH]),
    ];
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json', ...flags, ...extra], {
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
 * One POST of `payload` with `Expect: 100-continue` on node:http: the body is written after
 * `100 Continue`; a final answer before it (a refusal, which comes with Connection: close) ends
 * the request without a body. Resolves with { status, headers, uploaded } (uploaded: the body
 * was sent).
 */
function expectPost(agent, origin, payload) {
  return new Promise((resolve, reject) => {
    let uploaded = false;
    const req = http.request(`${origin}${payload.path}`, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(payload.body.length),
        expect: '100-continue',
      },
    });
    req.on('continue', () => {
      uploaded = true;
      req.end(payload.body);
    });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        // Refused before the body: this request cannot be finished, and the server closes its connection.
        if (!uploaded) req.destroy();
        resolve({ status: res.statusCode, headers: res.headers, uploaded, text: Buffer.concat(chunks).toString() });
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

/** One POST of `payload` with undici (the body sent with the headers). */
async function plainPost(pool, payload) {
  const res = await pool.request({
    path: payload.path,
    method: 'POST',
    body: payload.body,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(payload.body.length) },
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, uploaded: true, text };
}

/**
 * One cell: a fresh server, `clients` clients of `kind` for SECONDS. Throughput counts the 200s
 * completed inside the window (requests still in flight at its end are awaited for their status
 * and latency, not counted), so the drain of a full queue does not stretch the measured time.
 */
async function loadCell(payload, clients, workers, kind) {
  const srv = await startServer(workers);
  const pool =
    kind === 'plain'
      ? new Pool(srv.origin, { connections: clients, pipelining: 1, keepAliveTimeout: 30_000 })
      : undefined;
  const agent =
    kind === 'expect' ? new http.Agent({ keepAlive: true, maxSockets: clients, keepAliveMsecs: 30_000 }) : undefined;
  const latencies = [];
  const analysis = [];
  const uploads = [];
  const waits = [];
  const statuses = {};
  let transport = 0;
  let inWindow = 0;
  let maxWaiting = 0;
  let maxHeld = 0;
  let refusedUploads = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  // Steady state: answers completed after the warm-up (the clients' first connections and
  // uploads, all at once) and before the deadline.
  const steadyFrom = started + WARMUP_SECONDS * 1000;
  const cpu0 = { server: cpuMs(srv.child.pid), main: cpuMs(srv.child.pid, srv.child.pid), client: process.cpuUsage() };
  const gc0 = await healthGc(srv.url);
  const request = async () => {
    const t0 = performance.now();
    try {
      const res = pool ? await plainPost(pool, payload) : await expectPost(agent, srv.origin, payload);
      const end = performance.now();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status === 200) {
        latencies.push(end - t0);
        if (end <= deadline && end >= steadyFrom) inWindow++;
        const timing = String(res.headers['server-timing']);
        const phase = (name) => Number(new RegExp(`${name};dur=([\\d.]+)`).exec(timing)?.[1] ?? NaN);
        analysis.push(phase('analysis'));
        uploads.push(phase('upload'));
        waits.push(phase('queue'));
      } else if (res.uploaded) refusedUploads++;
      return res.status === 429 || res.status === 503 ? Number(res.headers['retry-after'] ?? 1) : 0;
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
        const h = /** @type {{ queue: { waiting: number, held: number } }} */ (await res.json());
        maxWaiting = Math.max(maxWaiting, h.queue.waiting);
        maxHeld = Math.max(maxHeld, h.queue.held);
      } catch {
        // the poller is best effort
      }
      await sleep(200);
    }
  })();
  await Promise.all(Array.from({ length: clients }, client));
  await poller;
  const clientCpu = process.cpuUsage(cpu0.client);
  const cpu = {
    server: cpuMs(srv.child.pid) - cpu0.server,
    main: cpuMs(srv.child.pid, srv.child.pid) - cpu0.main,
    client: (clientCpu.user + clientCpu.system) / 1000,
  };
  const gc1 = await healthGc(srv.url);
  const gc = { full: gc1.full - gc0.full, fullMs: gc1.fullMs - gc0.fullMs };
  const rss = peakRss(srv.child.pid);
  await pool?.close();
  agent?.destroy();
  await stopServer(srv.child);
  return {
    latencies,
    analysis,
    uploads,
    waits,
    statuses,
    transport,
    inWindow,
    maxWaiting,
    maxHeld,
    rss,
    refusedUploads,
    cpu,
    gc,
    limits: srv.limits,
  };
}

/** The server's event-loop GC tally (/health `gc`: full collections and their pause ms). */
async function healthGc(url) {
  const h = /** @type {{ gc: { full: number, fullMs: number } }} */ (await (await fetch(`${url}/health`)).json());
  return h.gc;
}

/** CPU time of a process (or of its thread `tid`) so far, in ms (utime + stime from /proc, 10 ms ticks). */
function cpuMs(pid, tid) {
  const file = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  const f = readFileSync(file, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/**
 * The cost of one refusal of each kind: a server with one place (max-concurrent 1, queue 0),
 * held by an upload left open, answers `n` posts of `payload` (8 at a time, no back-off) with
 * 429; reports the server's and the client's CPU time per refusal, interleaved A B B A.
 */
async function refusalCost(payload, n = 300) {
  const out = {};
  for (const kind of ['plain', 'expect', 'expect', 'plain']) {
    const srv = await startServer(undefined, ['--max-concurrent', '1', '--queue', '0', '--hold', '0']);
    const hold = http.request(`${srv.origin}${payload.path}`, {
      method: 'POST',
      agent: false,
      headers: { 'content-length': String(payload.body.length) },
    });
    hold.on('error', () => {});
    hold.write(payload.body.subarray(0, 100));
    for (;;) {
      const h = /** @type {{ queue: { admitted: number } }} */ (await (await fetch(`${srv.url}/health`)).json());
      if (h.queue.admitted === 1) break;
      await sleep(10);
    }
    const pool = new Pool(srv.origin, { connections: 8 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    let left = n;
    let other = 0;
    const s0 = cpuMs(srv.child.pid);
    const c0 = process.cpuUsage();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (left-- > 0) {
          try {
            const r = kind === 'plain' ? await plainPost(pool, payload) : await expectPost(agent, srv.origin, payload);
            if (r.status !== 429) other++;
          } catch {
            other++;
          }
        }
      }),
    );
    const c = process.cpuUsage(c0);
    const server = cpuMs(srv.child.pid) - s0;
    hold.destroy();
    await pool.close();
    agent.destroy();
    await stopServer(srv.child);
    if (!out[kind]) out[kind] = { serverMs: 0, clientMs: 0, n: 0, other: 0 };
    const o = out[kind];
    o.serverMs += server;
    o.clientMs += (c.user + c.system) / 1000;
    o.n += n;
    o.other += other;
  }
  return out;
}

/** CPU time per 200 (ms) of the server, its main thread and the clients, over the cells' windows and drains. */
function perOk(cells) {
  const ok = cells.reduce((a, c) => a + (c.statuses[200] ?? 0), 0);
  const sum = (k) => cells.reduce((a, c) => a + c.cpu[k], 0) / ok;
  const gcSum = (k) => cells.reduce((a, c) => a + c.gc[k], 0);
  return {
    server_cpu_ms: sum('server'),
    main_cpu_ms: sum('main'),
    client_cpu_ms: sum('client'),
    // The event loop's full collections per 100 answers and their pause per answer (ms).
    gc_full_per_100: (100 * gcSum('full')) / ok,
    gc_full_ms: gcSum('fullMs') / ok,
  };
}

/** Two-sided 97.5 % quantiles of Student's t for 1…30 degrees of freedom (beyond: the normal's). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The geometric mean of positive ratios, with a 95 % interval (t on the logs) from two on. */
function geometricMean(xs) {
  const logs = xs.map(Math.log);
  const m = logs.reduce((a, b) => a + b, 0) / logs.length;
  if (logs.length < 2) return `${Math.exp(m).toFixed(3)}`;
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - m) ** 2, 0) / (logs.length - 1));
  const h = (T975[logs.length - 2] ?? 1.96) * (sd / Math.sqrt(logs.length));
  return `${Math.exp(m).toFixed(3)} (95 % interval ${Math.exp(m - h).toFixed(3)}–${Math.exp(m + h).toFixed(3)})`;
}

/**
 * The 64-client cells against the 8-client cells run next to them (the i-th of each, adjacent in
 * the symmetric order): per pair, the throughput ratio and the ratio of server CPU per answered
 * request (8 over 64: above 1 when a request costs the server less at 64 clients); their geometric
 * means with a 95 % interval (t on the logs) when there are at least two pairs.
 */
function pairStats(cells64, cells8) {
  const n = Math.min(cells64.length, cells8.length);
  const rate = (c) => c.inWindow / (SECONDS - WARMUP_SECONDS);
  const cpuPerOk = (c) => c.cpu.server / Math.max(1, c.statuses[200] ?? 0);
  const thr = [],
    eff = [];
  for (let i = 0; i < n; i++) {
    thr.push(rate(cells64[i]) / rate(cells8[i]));
    eff.push(cpuPerOk(cells8[i]) / cpuPerOk(cells64[i]));
  }
  return {
    ratios: thr,
    cpuRatios: eff,
    text: `${n} adjacent pairs: throughput ratios ${thr.map((x) => x.toFixed(3)).join(', ')}, geometric mean ${geometricMean(thr)}; server CPU per answer at 8 / at 64 ${geometricMean(eff)}`,
  };
}

/** The row of one payload x client count x kind x workers, from its cells (pooled). */
function summarise(payload, clients, kind, cells) {
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
  const p99 = percentile(latencies, 0.99);
  const bound = ((limits.queueLength + limits.holdLength) / limits.maxConcurrent + 2) * percentile(analysis, 0.99);
  return {
    payload: payload.name,
    clients,
    client: kind,
    workers: limits.workers,
    cells: cells.length,
    rps: cells.reduce((a, c) => a + c.inWindow, 0) / (cells.length * (SECONDS - WARMUP_SECONDS)),
    p50_ms: percentile(latencies, 0.5),
    p99_ms: p99,
    p99_bound_ms: bound,
    p99_within: p99 <= bound ? 'yes' : 'NO',
    upload_p99_ms: percentile(uploads, 0.99),
    queue_p99_ms: percentile(waits, 0.99),
    analysis_p99_ms: percentile(analysis, 0.99),
    ok: statuses[200] ?? 0,
    r429: statuses[429] ?? 0,
    refused_uploaded: cells.reduce((a, c) => a + c.refusedUploads, 0),
    r503: statuses[503] ?? 0,
    other4xx: count((s) => s >= 400 && s < 500 && s !== 429),
    errors: count((s) => s >= 500 && s !== 503) + cells.reduce((a, c) => a + c.transport, 0),
    max_waiting: Math.max(...cells.map((c) => c.maxWaiting)),
    max_held: Math.max(...cells.map((c) => c.maxHeld)),
    // CPU per answered request (ms): the whole server process, its event-loop thread, the client.
    ...perOk(cells),
    analysis_p50_ms: percentile(analysis, 0.5),
    peak_rss_mib: rss / MIB,
    ceiling_mib: rssCeiling(limits, payload.body.length, payload.workspace) / MIB,
  };
}

export async function run() {
  const rows = [];
  const notes = [];
  const load0 = os.loadavg();
  const started = new Date().toISOString();
  const workersShown = (w) => (w === undefined ? 'default' : String(w));
  for (const payload of PAYLOADS) {
    // 1 client once per kind; 8 and 64 clients twice per kind, in an order symmetric about its
    // middle (plain 8, plain 64, expect 8, expect 64, expect 64, expect 8, plain 64, plain 8),
    // so that a drift in the machine's load falls alike on both kinds and on 8 and 64 clients.
    // With several worker counts, each step runs them all, in alternating order.
    const order = [];
    for (const workers of WORKER_VARIANTS) order.push([1, workers, 'plain'], [1, workers, 'expect']);
    const steps = [
      [8, 'plain'],
      [64, 'plain'],
      [8, 'expect'],
      [64, 'expect'],
    ];
    for (let round = 0; round < ROUNDS; round++)
      [...steps, ...[...steps].reverse()].forEach(([clients, kind], i) => {
        for (const workers of i % 2 ? [...WORKER_VARIANTS].reverse() : WORKER_VARIANTS)
          order.push([clients, workers, kind]);
      });
    const cells = new Map();
    for (const [clients, workers, kind] of order) {
      const key = `${clients}/${workersShown(workers)}/${kind}`;
      if (!cells.has(key)) cells.set(key, { clients, workers, kind, list: [] });
      cells.get(key).list.push(await loadCell(payload, clients, workers, kind));
    }
    const sorted = [...cells.values()].sort(
      (a, b) =>
        a.clients - b.clients ||
        KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind) ||
        WORKER_VARIANTS.indexOf(a.workers) - WORKER_VARIANTS.indexOf(b.workers),
    );
    for (const { clients, workers, kind, list } of sorted)
      rows.push({ ...summarise(payload, clients, kind, list), variant: workersShown(workers), cellList: list });
  }
  const refusals = await refusalCost(PAYLOADS[0]);
  const load1 = os.loadavg();
  const allRatios = [];
  const allCpuRatios = [];
  for (const payload of PAYLOADS) {
    const cells = rows.filter((r) => r.payload === payload.name);
    const at = (clients, variant, kind) =>
      cells.find((r) => r.clients === clients && r.variant === variant && r.client === kind);
    for (const variant of new Set(cells.map((r) => r.variant)))
      for (const kind of KINDS) {
        const r64 = at(64, variant, kind);
        const ratio = r64.rps / at(8, variant, kind).rps;
        const pairs = pairStats(r64.cellList, at(8, variant, kind).cellList);
        allRatios.push(...pairs.ratios);
        allCpuRatios.push(...pairs.cpuRatios);
        notes.push(
          `${payload.name}, ${kind} clients, workers ${r64.workers}: throughput at 64 clients / at 8 = ${ratio.toFixed(3)} (${ratio >= 1 ? 'at least: no collapse' : 'LOWER at 64'}); ${pairs.text}`,
        );
      }
    for (const r of cells) {
      notes.push(
        `${payload.name}, ${r.clients} ${r.client} clients, workers ${r.workers}: p99 ${r.p99_ms.toFixed(0)} ms vs bound ((queue + hold)/concurrent + 2) x p99 analysis = ${r.p99_bound_ms.toFixed(0)} ms (${r.p99_ms <= r.p99_bound_ms ? 'within' : 'OVER'}); peak RSS ${r.peak_rss_mib.toFixed(0)} MiB vs ceiling ${r.ceiling_mib.toFixed(0)} MiB (${r.peak_rss_mib <= r.ceiling_mib ? 'under' : 'OVER'}); 5xx/transport errors ${r.errors}; 429s ${r.r429}, of which uploaded their body ${r.refused_uploaded}`,
      );
    }
  }
  if (allRatios.length > 1)
    notes.push(
      `all payloads and clients: ${allRatios.length} adjacent pairs, throughput at 64 / at 8 geometric mean ${geometricMean(allRatios)}; server CPU per answer at 8 / at 64 ${geometricMean(allCpuRatios)}`,
    );
  for (const [kind, o] of Object.entries(refusals))
    notes.push(
      `one refusal (${PAYLOADS[0].name}, ${kind} client, ${o.n} refusals over 2 servers): server CPU ${((1000 * o.serverMs) / o.n).toFixed(0)} us, client CPU ${((1000 * o.clientMs) / o.n).toFixed(0)} us per refusal; answers other than 429 or failed: ${o.other}`,
    );
  notes.push(
    `${SECONDS} s per cell, clients ${BACKOFF ? 'honour Retry-After' : 'retry at once'}; started ${started}; load average (1/5/15 min) ${load0.map((x) => x.toFixed(2)).join('/')} before, ${load1.map((x) => x.toFixed(2)).join('/')} after, on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}); the figures are as noisy as that load. Command: ${[
      'SPECDYN_SERVE_WORKERS',
      'SPECDYN_SERVE_ROUNDS',
      'SPECDYN_SERVE_SECONDS',
      'SPECDYN_SERVE_HEAP_GROWTH',
      'SPECDYN_SERVE_HOLD',
    ]
      .filter((k) => process.env[k] !== undefined)
      .map((k) => `${k}=${process.env[k]} `)
      .join('')}node bench/run.mjs serve`,
  );
  // The printed table is the one docs/performance.md shows; `data` keeps every figure unrounded.
  const table = rows.map((r) => ({
    payload: r.payload,
    clients: String(r.clients),
    client: r.client,
    workers: String(r.workers),
    'req/s': r.rps.toFixed(1),
    'p50 ms': r.p50_ms.toFixed(0),
    'p99 ms': r.p99_ms.toFixed(0),
    'p99 bound ms': r.p99_bound_ms.toFixed(0),
    'p99 within': r.p99_within,
    'upload p99 ms': r.upload_p99_ms.toFixed(0),
    '200s': String(r.ok),
    '429s': String(r.r429),
    '429s with body sent': String(r.refused_uploaded),
    '5xx + transport': String(r.errors),
    'deepest queue': String(r.max_waiting),
    'longest hold line': String(r.max_held),
    'CPU ms per 200: server (loop) / client': `${r.server_cpu_ms.toFixed(1)} (${r.main_cpu_ms.toFixed(1)}) / ${r.client_cpu_ms.toFixed(1)}`,
    'loop full GCs per 100 (ms per 200)': `${r.gc_full_per_100.toFixed(1)} (${r.gc_full_ms.toFixed(2)})`,
    'peak RSS MiB (ceiling)': `${r.peak_rss_mib.toFixed(0)} (${r.ceiling_mib.toFixed(0)})`,
  }));
  return {
    title: `specdyn serve under load (${SECONDS} s per cell, loopback)`,
    rows: table,
    data: rows.map(({ variant: _variant, cellList: _cells, ...r }) => r),
    notes,
  };
}
