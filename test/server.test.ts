// server/: the analysis service on a free loopback port. Figures equal direct library calls;
// each kind of bad request is a 400 with its one-line reason and the process keeps serving;
// oversized uploads are 413 before their body is read; a full queue is 429 with Retry-After; a
// client that goes away before its analysis starts has it dropped; the handlers embed in a
// plain node:http server and in a Fastify app of one's own; `specdyn serve` starts and stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { resolve } from 'node:path';
import Fastify from 'fastify';
import {
  AdmissionQueue,
  AnalysisService,
  HttpError,
  continueListener,
  nodeHandler,
  nodeHealthHandler,
  resolveServiceOptions,
  specdynRoutes,
  startServer,
  type RunningServer,
} from '../src/server/index.js';
import { AbortError } from '../src/errors.js';
import { WEIGHT_SPECTRUM_COLUMNS, weightSpectrum, weightSpectrumToRow } from '../src/rmt/index.js';
import { OMD_SNAPSHOT_COLUMNS, analyzeObservable, omdSnapshotToRow } from '../src/omd/index.js';
import { decodeLine } from '../src/store/jsonl.js';
import { getThreads, nativeInfo } from '../src/linalg/index.js';
import { randn } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// Fixtures made in code

/** A v1.0 .npy file of `descr` (little-endian floats or int32) with `shape`; `dataBytes` overrides the data section. */
function npy(descr: '<f4' | '<f8' | '<i4', shape: number[], values: ArrayLike<number>, dataBytes?: Uint8Array): Buffer {
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 11, ' ') + '\n';
  const pre = Buffer.alloc(10);
  pre.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  pre.writeUInt16LE(dict.length, 8);
  const Arr = descr === '<f4' ? Float32Array : descr === '<f8' ? Float64Array : Int32Array;
  const data = dataBytes ?? new Uint8Array(Arr.from(values).buffer);
  return Buffer.concat([pre, Buffer.from(dict, 'latin1'), data]);
}

/** A safetensors file of float32 tensors; `lie` edits the header before it is written. */
function safetensors(
  tensors: { name: string; shape: number[]; values: Float32Array }[],
  lie?: (h: Record<string, { data_offsets: number[] }>) => void,
): Buffer {
  const header: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }> = {};
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + t.values.byteLength] };
    off += t.values.byteLength;
  }
  lie?.(header);
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...tensors.map((t) => Buffer.from(t.values.buffer))]);
}

const f32 = (m: { data: Float64Array }) => Float32Array.from(m.data);
const bytesOf = (a: Float32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: () => Record<string, unknown>;
}

/** One request with node:http (full control of headers and body). */
function send(
  url: string,
  opts: { method?: string; headers?: Record<string, string | number>; body?: Uint8Array | string } = {},
): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const req = http.request(url, { method: opts.method ?? 'POST', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolvePromise({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * Starts a request whose body is written by the caller: returns the request, its response
 * Promise, and whether the response arrived before the caller ended the body.
 */
function open(url: string, headers: Record<string, string | number> = {}) {
  const req = http.request(url, { method: 'POST', headers, agent: false });
  const response = new Promise<Reply>((resolvePromise, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolvePromise({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
  });
  response.catch(() => {}); // a request destroyed on purpose
  return { req, response };
}

/**
 * A POST sent with `Expect: 100-continue`: the body is written only when the server answers
 * `100 Continue`. Resolves with the final answer, whether 100 came, and the number of bytes the
 * server's socket of this request has read (headers and any body) once the answer is in.
 */
function sendExpecting(
  url: string,
  headers: Record<string, string | number>,
  body: Uint8Array,
  serverSockets: Map<number, import('node:net').Socket>,
): Promise<Reply & { continued: boolean; serverBytesRead: number }> {
  return new Promise((resolvePromise, reject) => {
    let continued = false;
    let localPort = -1;
    const req = http.request(url, { method: 'POST', headers: { ...headers, expect: '100-continue' }, agent: false });
    req.on('socket', (sock) => sock.once('connect', () => (localPort = sock.localPort!)));
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (!continued) req.destroy(); // refused before the body: the request cannot be finished
        const text = Buffer.concat(chunks).toString('utf8');
        const serverBytesRead = serverSockets.get(localPort)?.bytesRead ?? NaN;
        resolvePromise({
          status: res.statusCode!,
          headers: res.headers,
          text,
          json: () => JSON.parse(text),
          continued,
          serverBytesRead,
        });
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

/** The server side of every connection to `server`, by the client's port. */
function trackSockets(server: http.Server): Map<number, import('node:net').Socket> {
  const sockets = new Map<number, import('node:net').Socket>();
  server.on('connection', (sock: import('node:net').Socket) => sockets.set(sock.remotePort!, sock));
  return sockets;
}

async function health(base: string) {
  return (await send(`${base}/health`, { method: 'GET' })).json() as unknown as {
    queue: { active: number; waiting: number; uploading: number; admitted: number; held: number };
    counts: Record<string, number>;
    [k: string]: unknown;
  };
}

/** Polls the health route until `ok` holds (each poll is one request; the test's own timeout bounds it). */
async function until(base: string, ok: (h: Awaited<ReturnType<typeof health>>) => boolean) {
  for (;;) {
    const h = await health(base);
    if (ok(h)) return h;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The row as the run store would read it back (non-finite numbers restored from `_nonfinite`). */
function rowOf(reply: Reply): Record<string, unknown> {
  const body = reply.json();
  return decodeLine(JSON.stringify(body.row))!;
}

/**
 * Row equality: the same keys in the registry's order, strings and integers exact, floats to
 * 1e-9 relative (a server call and a direct call may run BLAS with different thread counts,
 * which changes the last bits of a sum), NaN where the direct call has NaN.
 */
function expectSameRow(got: Record<string, unknown>, want: Record<string, unknown>) {
  expect(Object.keys(got)).toEqual(Object.keys(want));
  for (const [k, w] of Object.entries(want)) {
    const g = got[k];
    if (typeof w === 'number' && !Number.isInteger(w)) {
      if (Number.isNaN(w)) expect(g, k).toBeNaN();
      else expect(Math.abs((g as number) - w), k).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(w)));
    } else expect(g, k).toEqual(w);
  }
}

// ---------------------------------------------------------------------------------------------

let server: RunningServer;
let base: string;
const W = randn(120, 60, 7); // a weight matrix, N x M
const REPS = randn(80, 16, 8); // a representation snapshot, N probes x D

beforeAll(async () => {
  server = await startServer({ port: 0, maxUploadBytes: 1 << 20, maxConcurrent: 2, queueLength: 4 });
  base = server.url;
});
afterAll(async () => {
  await server?.close();
});

describe('figures equal direct library calls', () => {
  it('weights: raw float64, raw float32, .npy and safetensors give weightSpectrum’s row, with the registry’s columns', async () => {
    const want64 = weightSpectrumToRow(await weightSpectrum(W));
    const r64 = await send(`${base}/weights?shape=120x60&dtype=float64`, { body: bytesOf(W.data) });
    expect(r64.status).toBe(200);
    expect(Object.keys(rowOf(r64))).toEqual(WEIGHT_SPECTRUM_COLUMNS.map((c) => c.name));
    expectSameRow(rowOf(r64), want64);
    const body = r64.json();
    expect(body.family).toBe('weights');
    expect(body.shape).toEqual([120, 60]);

    const w32 = { data: f32(W), rows: 120, cols: 60 };
    const want32 = weightSpectrumToRow(await weightSpectrum(w32));
    for (const [label, path, bytes] of [
      ['raw', '/weights?shape=120x60&dtype=float32', bytesOf(w32.data)],
      ['npy', '/weights', npy('<f4', [120, 60], w32.data)],
      ['npy', '/weights?format=npy', npy('<f4', [120, 60], w32.data)],
      [
        'safetensors',
        '/weights?tensor=fc.weight',
        safetensors([
          { name: 'fc.bias', shape: [120], values: new Float32Array(120) },
          { name: 'fc.weight', shape: [120, 60], values: w32.data },
        ]),
      ],
    ] as const) {
      // curl --data-binary sends application/x-www-form-urlencoded unless told otherwise.
      const type = path.includes('format=') ? 'application/x-www-form-urlencoded' : 'application/octet-stream';
      const r = await send(base + path, { body: bytes, headers: { 'content-type': type } });
      expect(r.status, `${label}: ${r.text}`).toBe(200);
      expect(r.json().format).toBe(label);
      expectSameRow(rowOf(r), want32);
    }
  });

  it('weights: analysis options in the query reach the call (kernel, bootstrap, margin)', async () => {
    const want = weightSpectrumToRow(await weightSpectrum(W, { kernel: true, bootstrap: 20, margin: 3 }));
    const r = await send(`${base}/weights?shape=120x60&dtype=float64&kernel=1&bootstrap=20&margin=3`, {
      body: bytesOf(W.data),
    });
    expect(r.status, r.text).toBe(200);
    expect(rowOf(r).N).toBe(60); // a kernel [in, out] is read transposed
    expectSameRow(rowOf(r), want);
  });

  it('weights: a 4-D kernel is flattened as the checkpoint importer does (PyTorch rows first, ?kernel=1 output last)', async () => {
    const k = randn(1, 2 * 3 * 4 * 5, 9).data; // one seeded buffer read two ways
    const torch = await send(`${base}/weights`, { body: npy('<f8', [5, 4, 3, 2], k) }); // [out, in, kh, kw]
    expect(torch.status, torch.text).toBe(200);
    expectSameRow(rowOf(torch), weightSpectrumToRow(await weightSpectrum({ data: k, rows: 5, cols: 24 })));
    const keras = await send(`${base}/weights?kernel=1`, { body: npy('<f8', [2, 3, 4, 5], k) }); // [kh, kw, in, out]
    expect(keras.status, keras.text).toBe(200);
    expect(rowOf(keras)).toMatchObject({ N: 5, M: 24 });
    expectSameRow(
      rowOf(keras),
      weightSpectrumToRow(await weightSpectrum({ data: k, rows: 24, cols: 5 }, { kernel: true })),
    );
  });

  it('omd: a snapshot gives analyzeObservable’s row (the run store’s OMD snapshot columns), arrays on request', async () => {
    const snap = await analyzeObservable(REPS, { metric: 'euclidean' });
    const want = omdSnapshotToRow(snap);
    const r = await send(`${base}/omd?metric=euclidean&arrays=1`, { body: npy('<f8', [80, 16], REPS.data) });
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(rowOf(r))).toEqual(OMD_SNAPSHOT_COLUMNS.map((c) => c.name));
    expectSameRow(rowOf(r), want);
    const values = (r.json().arrays as { values: number[] }).values;
    expect(values).toHaveLength(80);
    for (let i = 0; i < 80; i++)
      expect(Math.abs(values[i]! - snap.values[i]!)).toBeLessThanOrEqual(1e-9 * Math.abs(snap.perron));
  });

  it('non-finite figures travel as the run store writes them (null, named in _nonfinite)', async () => {
    // 3 x 3: fewer than minEvals levels, so the MP columns are NaN.
    const small = randn(3, 3, 2);
    const r = await send(`${base}/weights?shape=3x3&dtype=float64`, { body: bytesOf(small.data) });
    expect(r.status, r.text).toBe(200);
    const row = r.json().row as Record<string, unknown>;
    expect(row.sigma_mp).toBeNull();
    expect((row._nonfinite as Record<string, string>).sigma_mp).toBe('NaN');
    expectSameRow(rowOf(r), weightSpectrumToRow(await weightSpectrum(small)));
  });
});

describe('worker threads', () => {
  it('the hold line defaults to 32 waiting requests per running analysis (64 clients at 2 cores)', () => {
    expect(resolveServiceOptions({ maxConcurrent: 3 }).holdLength).toBe(96);
    expect(resolveServiceOptions({ maxConcurrent: 2 }).holdLength).toBe(64);
    expect(resolveServiceOptions({ maxConcurrent: 2, holdLength: 0 }).holdLength).toBe(0);
  });
  it('by default there is one worker per running analysis; 0 runs them on the event loop', async () => {
    expect(resolveServiceOptions({ maxConcurrent: 3 }).workers).toBe(3);
    expect(resolveServiceOptions().workers).toBe(resolveServiceOptions().maxConcurrent);
    expect(resolveServiceOptions().maxConcurrent).toBe(nativeInfo().hardwareThreads);
    expect(resolveServiceOptions({ maxConcurrent: 2, workers: 0 }).workers).toBe(0);
    expect(() => resolveServiceOptions({ workers: -1 })).toThrow(RangeError);
    expect((server.service.health().limits as { workers: number }).workers).toBe(2); // maxConcurrent 2
  });

  it('the caller’s body memory stays its own when the analysis moves to a worker', async () => {
    const svc = new AnalysisService({ maxConcurrent: 1, workers: 1 });
    try {
      const mine = Buffer.from(bytesOf(W.data));
      // A Buffer that is all of its ArrayBuffer, as an embedding app or an injected payload hands it over.
      const own = Buffer.from(new ArrayBuffer(mine.length));
      own.set(mine);
      async function* body() {
        yield own;
      }
      const r = await svc.handle('weights', {
        body: body(),
        headers: {},
        query: new URLSearchParams('shape=120x60&dtype=float64'),
      });
      expect(r.status, r.body).toBe(200);
      expect(own.buffer.byteLength).toBe(mine.length); // not detached
      expect(Buffer.compare(own, mine)).toBe(0);
    } finally {
      await svc.close();
    }
  });

  it('with workers the rows, arrays and 400s are those of the event-loop service', async () => {
    // The worker script is the built dist/server/worker.js (run node scripts/bootstrap.mjs).
    const s = await startServer({ port: 0, maxConcurrent: 2, workers: 2 });
    try {
      const want = await weightSpectrum(W);
      const [a, b] = await Promise.all([
        send(`${s.url}/weights?shape=120x60&dtype=float64&arrays=1`, { body: bytesOf(W.data) }),
        send(`${s.url}/omd?metric=euclidean`, { body: npy('<f8', [80, 16], REPS.data) }),
      ]);
      expect(a.status, a.text).toBe(200);
      expectSameRow(rowOf(a), weightSpectrumToRow(want));
      const evals = (a.json().arrays as { evals: number[] }).evals;
      expect(evals).toHaveLength(want.evals.length);
      for (let i = 0; i < evals.length; i++)
        expect(Math.abs(evals[i]! - want.evals[i]!)).toBeLessThanOrEqual(1e-9 * want.lambda_max);
      expect(b.status, b.text).toBe(200);
      expectSameRow(rowOf(b), omdSnapshotToRow(await analyzeObservable(REPS, { metric: 'euclidean' })));
      const nan = Float64Array.from(W.data);
      nan[61] = NaN;
      const bad = await send(`${s.url}/weights?shape=120x60&dtype=float64`, { body: bytesOf(nan) });
      expect(bad.status).toBe(400);
      expect(bad.json().error).toMatch(/NaN at index 61 \(row 1, column 1\)/);
      const h = await health(s.url);
      expect(h.counts).toMatchObject({ served: 2, badRequest: 1, failed: 0 });
      expect((h.limits as unknown as { workers: number }).workers).toBe(2);
    } finally {
      await s.close();
    }
  });
});

describe('bad input: a 400 with a one-line reason, and the process keeps serving', () => {
  const good = () => send(`${base}/weights?shape=120x60&dtype=float64`, { body: bytesOf(W.data) });
  const nan = Float64Array.from(W.data);
  nan[61] = NaN;
  const inf = Float32Array.from(W.data);
  inf[5] = -Infinity;
  const full = npy('<f4', [120, 60], f32(W));
  const cases: [string, string, { headers?: Record<string, string>; body?: Uint8Array | string }, RegExp][] = [
    [
      'a JSON body',
      '/weights',
      { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: [1, 2] }) },
      /^Expected a binary body .* but received Content-Type application\/json$/,
    ],
    ['no body', '/weights', {}, /^Expected a body .* but received 0 bytes$/],
    [
      'bytes of no known format',
      '/omd',
      { body: Buffer.from('hello, world') },
      /^Expected a \.npy file, a safetensors file.* but received 12 bytes starting 68 65/,
    ],
    ['a truncated .npy', '/weights', { body: full.subarray(0, full.length - 100) }, /truncated/],
    [
      'a .npy header lying about its shape',
      '/weights',
      { body: npy('<f4', [120, 61], [], bytesOf(f32(W))) },
      /Expected 29280 data bytes for shape \(120, 61\) of <f4 for the \.npy body but received '28800 bytes \(truncated\)'/,
    ],
    [
      'a truncated .npy header',
      '/weights',
      { body: full.subarray(0, 40) },
      /Expected a \.npy header of \d+ bytes for the \.npy body but received '\d+ header bytes \(truncated file\)'/,
    ],
    [
      'a safetensors header lying about its offsets',
      '/weights',
      {
        body: safetensors([{ name: 'w', shape: [120, 60], values: f32(W) }], (h) => {
          h.w!.data_offsets = [0, 28800 + 64];
        }),
      },
      /data_offsets within the 28800-byte data buffer \(file truncated or header lying\)/,
    ],
    [
      'a safetensors file of several tensors and no ?tensor=',
      '/weights',
      {
        body: safetensors([
          { name: 'a', shape: [4, 4], values: new Float32Array(16) },
          { name: 'b', shape: [4, 4], values: new Float32Array(16) },
        ]),
      },
      /^Expected query parameter 'tensor' naming one of the 2 tensors \('a', 'b'\) but received none$/,
    ],
    [
      'an integer dtype (.npy)',
      '/weights',
      { body: npy('<i4', [4, 4], new Int32Array(16)) },
      /^Expected a float dtype .* but received <i4$/,
    ],
    [
      'a raw dtype that is not float32/float64',
      '/weights?shape=4x4&dtype=int8',
      { body: Buffer.alloc(16) },
      /for query parameter 'dtype' but received 'int8'$/,
    ],
    [
      'a raw body without dtype',
      '/weights?shape=4x4',
      { body: Buffer.alloc(64) },
      /^Expected query parameter 'dtype' float32 or float64/,
    ],
    [
      'a raw body whose length does not match its shape',
      '/weights?shape=120x60&dtype=float64',
      { body: bytesOf(W.data).subarray(0, 1000) },
      /^Expected 57600 bytes for shape 120x60 of float64 but received Content-Length 1000$/,
    ],
    [
      'a malformed shape',
      '/weights?shape=12xx&dtype=float32',
      { body: Buffer.alloc(16) },
      /^Expected two positive integers 'RxC' for query parameter 'shape' but received '12xx'$/,
    ],
    [
      'NaN in the matrix',
      '/weights?shape=120x60&dtype=float64',
      { body: bytesOf(nan) },
      /NaN at index 61 \(row 1, column 1\)/,
    ],
    [
      '-Infinity in the snapshot',
      '/omd?shape=120x60&dtype=float32',
      { body: bytesOf(inf) },
      /-Infinity at index 5 \(row 0, column 5\)/,
    ],
    [
      'a 1-D array',
      '/weights',
      { body: npy('<f4', [16], new Float32Array(16)) },
      /^Expected an array of at least 2 non-zero dimensions but received shape \[16\]$/,
    ],
    ['too few probes for OMD', '/omd?shape=3x8&dtype=float32', { body: Buffer.alloc(96) }, /N ≥ 4|at least 4/],
    [
      'an unknown query parameter',
      '/weights?shape=4x4&dtype=float32&colour=red',
      { body: Buffer.alloc(64) },
      /for a query parameter of \/weights but received 'colour'$/,
    ],
    [
      'an option out of range',
      '/weights?shape=4x4&dtype=float32&bootstrap=100000',
      { body: Buffer.alloc(64) },
      /^Expected an integer in \[0, 1000\] for query parameter 'bootstrap' but received 100000$/,
    ],
    [
      'a non-numeric option',
      '/omd?maxBand=lots',
      { body: npy('<f8', [80, 16], REPS.data) },
      /^Expected a number for query parameter 'maxBand' but received 'lots'$/,
    ],
  ];
  it.each(cases)('%s', async (_label, path, opts, reason) => {
    const r = await send(base + path, opts);
    expect(r.status, r.text).toBe(400);
    const body = r.json();
    expect(body.status).toBe(400);
    expect(body.error).toMatch(reason);
    expect(body.error as string).not.toContain('\n');
    expect((await good()).status).toBe(200);
  });

  it('every bad request was counted, none was a failure of the server', async () => {
    const h = await health(base);
    expect(h.counts.badRequest).toBeGreaterThanOrEqual(cases.length);
    expect(h.counts.failed).toBe(0);
  });
});

describe('limits', () => {
  it('an upload declaring more than maxUploadBytes is refused with 413 before any body byte is sent', async () => {
    const before = await health(base);
    const { req, response } = open(`${base}/weights`, { 'content-length': 10 << 20 });
    req.flushHeaders(); // headers only: the body is never written
    const r = await response;
    req.destroy();
    expect(r.status).toBe(413);
    expect(r.json().error).toBe(
      'Expected a body of at most 1048576 bytes (maxUploadBytes) but received Content-Length 10485760',
    );
    expect(r.headers.connection).toBe('close');
    const after = await health(base);
    expect(after.counts.tooLarge).toBe(before.counts.tooLarge! + 1);
  });

  it('a chunked upload is refused with 413 as soon as it passes the limit, while the client is still sending', async () => {
    const { req, response } = open(`${base}/weights`, { 'transfer-encoding': 'chunked' });
    let answered = false;
    void response.then(() => (answered = true));
    const chunk = Buffer.alloc(64 << 10);
    for (let sent = 0; sent <= 1 << 20; sent += chunk.length) req.write(chunk); // 1 MiB + 64 KiB, never ended
    const r = await response;
    expect(answered).toBe(true);
    expect(req.writableEnded).toBe(false); // the body was never finished: refused mid-stream
    req.destroy();
    expect(r.status).toBe(413);
    expect(r.json().error).toBe(
      'Expected a body of at most 1048576 bytes (maxUploadBytes) but received more than 1048576 bytes (chunked)',
    );
    expect((await send(`${base}/weights?shape=120x60&dtype=float64`, { body: bytesOf(W.data) })).status).toBe(200);
  });

  it('a matrix over maxMatrixElements is a 413 naming the limit (raw: before its body is read)', async () => {
    const s = await startServer({ port: 0, maxMatrixElements: 100 });
    try {
      const { req, response } = open(`${s.url}/weights?shape=11x10&dtype=float32`, { 'content-length': 440 });
      req.flushHeaders();
      const r = await response;
      req.destroy();
      expect(r.status).toBe(413);
      expect(r.json().error).toBe(
        'Expected a matrix of at most 100 entries (maxMatrixElements) but received 11 x 10 = 110',
      );
      // OMD: 20 x 4 is 80 entries, but its 20 x 20 distance matrix is 400.
      const o = await send(`${s.url}/omd`, { body: npy('<f4', [20, 4], new Float32Array(80).fill(1)) });
      expect(o.status).toBe(413);
      expect(o.json().error).toMatch(/^Expected at most 10 probes \(the 20 x 20 distance matrix/);
    } finally {
      await s.close();
    }
  });
});

describe('overload and disconnects', () => {
  it('a full queue without a hold line answers 429 with Retry-After at once (before the body with Expect: 100-continue); the admitted requests are served', async () => {
    // 1 running + 1 queued place. Two uploads left open hold both places (admission happens on
    // arrival, before the body is read), so the third request deterministically finds none.
    const s = await startServer({ port: 0, maxConcurrent: 1, queueLength: 1, holdLength: 0 });
    const sockets = trackSockets(s.app.server);
    try {
      const body = bytesOf(W.data);
      const a = open(`${s.url}/weights?shape=120x60&dtype=float64`, { 'content-length': body.length });
      const b = open(`${s.url}/weights?shape=120x60&dtype=float64`, { 'content-length': body.length });
      a.req.write(body.subarray(0, 100));
      b.req.write(body.subarray(0, 100));
      await until(s.url, (h) => h.queue.uploading === 2);
      const c = await send(`${s.url}/weights?shape=120x60&dtype=float64`, { body });
      expect(c.status).toBe(429);
      expect(Number(c.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(c.json().error).toBe(
        'Expected a free place (1 running + 1 queued, 0 waiting) but all are taken; retry later',
      );
      // With Expect: 100-continue the refusal comes before the body, which the client never sends.
      const d = await sendExpecting(
        `${s.url}/weights?shape=120x60&dtype=float64`,
        { 'content-length': body.length },
        body,
        sockets,
      );
      expect(d.status).toBe(429);
      expect(d.continued).toBe(false);
      expect(Number(d.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(d.headers.connection).toBe('close');
      expect(d.json().error).toBe(c.json().error);
      // Only the request head reached the server (the body is 57 600 bytes).
      expect(d.serverBytesRead).toBeGreaterThan(0);
      expect(d.serverBytesRead).toBeLessThan(1024);
      a.req.end(body.subarray(100));
      b.req.end(body.subarray(100));
      expect((await a.response).status).toBe(200);
      expect((await b.response).status).toBe(200);
      const h = await health(s.url);
      expect(h.counts).toMatchObject({ served: 2, rejected: 2, started: 2 });
      expect(h.queue.admitted).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('a client that disconnects mid-upload is dropped; its analysis never starts', async () => {
    const s = await startServer({ port: 0, maxConcurrent: 1, queueLength: 2 });
    try {
      const body = bytesOf(W.data);
      const a = open(`${s.url}/weights?shape=120x60&dtype=float64`, { 'content-length': body.length });
      a.req.write(body.subarray(0, 1000));
      await until(s.url, (h) => h.queue.uploading === 1);
      a.req.destroy();
      const h = await until(s.url, (x) => x.counts.cancelled === 1);
      expect(h.counts.started).toBe(0);
      expect(h.queue.admitted).toBe(0);
      expect((await send(`${s.url}/weights?shape=120x60&dtype=float64`, { body })).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('a client that disconnects while queued is dropped; its analysis never starts', async () => {
    // One running slot held by a large analysis (a 1500 x 1500 spectrum); the second request
    // queues behind it, and its client goes away.
    const s = await startServer({ port: 0, maxConcurrent: 1, queueLength: 2, maxUploadBytes: 32 << 20 });
    try {
      const big = randn(1500, 1500, 3);
      const a = send(`${s.url}/weights?shape=1500x1500&dtype=float64`, { body: bytesOf(big.data) });
      await until(s.url, (h) => h.queue.active === 1);
      const b = open(`${s.url}/weights?shape=120x60&dtype=float64`);
      b.req.end(bytesOf(W.data));
      await until(s.url, (h) => h.queue.waiting === 1);
      b.req.destroy();
      const h = await until(s.url, (x) => x.counts.cancelled === 1);
      expect(h.queue.waiting).toBe(0);
      expect((await a).status).toBe(200);
      const done = await health(s.url);
      expect(done.counts).toMatchObject({ started: 1, served: 1, cancelled: 1 });
    } finally {
      await s.close();
    }
  });

  it('Retry-After counts the clients already told to come back: it grows through a burst of refusals', async () => {
    const svc = new AnalysisService({ maxConcurrent: 1, queueLength: 1, holdLength: 0, workers: 0 });
    const q = new URLSearchParams('shape=120x60&dtype=float64');
    async function* once() {
      yield bytesOf(W.data);
    }
    expect((await svc.handle('weights', { body: once(), headers: {}, query: q })).status).toBe(200);
    const mean = svc.health().serviceSeconds; // the analysis just measured
    expect(mean).toBeGreaterThan(0);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* held() {
      await gate;
      yield bytesOf(W.data);
    }
    const a = svc.handle('weights', { body: held(), headers: {}, query: q });
    const b = svc.handle('weights', { body: held(), headers: {}, query: q });
    // Every place is taken: 2 admitted, so 2 ahead of a newcomer (admitted − running slots + 1).
    // Refusal k (the k earlier ones not due back yet) is told ceil(mean · (2 + k) / 1) seconds,
    // at least 1; enough refusals to pass 2 s.
    const n = Math.ceil(2 / mean) + 2;
    const told: number[] = [];
    for (let k = 0; k < n; k++) {
      const r = await svc.handle('weights', { body: once(), headers: {}, query: q });
      expect(r.status).toBe(429);
      told.push(Number(r.headers['retry-after']));
    }
    for (let k = 0; k < n; k++) expect([k, told[k]]).toEqual([k, Math.max(1, Math.ceil(mean * (2 + k)))]);
    expect(told[n - 1]).toBeGreaterThan(2);
    release();
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    await svc.close();
  });

  it('a full queue holds the next requests, bodies unread, and gives freed places first come first served; a full hold line answers 429', async () => {
    const s = await startServer({ port: 0, maxConcurrent: 1, queueLength: 1, holdLength: 2 });
    const sockets = trackSockets(s.app.server);
    try {
      const body = bytesOf(W.data);
      const path = `${s.url}/weights?shape=120x60&dtype=float64`;
      const a = open(path, { 'content-length': body.length });
      const b = open(path, { 'content-length': body.length });
      a.req.write(body.subarray(0, 100));
      b.req.write(body.subarray(0, 100));
      await until(s.url, (h) => h.queue.uploading === 2);
      // c sends (part of) its body with the headers, d waits for 100 Continue: both wait for a
      // place. c's body stays unfinished until the checks below are made, so c keeps the place
      // it is given (had c finished, its place would go to d at once and the state would pass).
      const order: string[] = [];
      const cOpen = open(path, { 'content-length': body.length });
      cOpen.req.write(body.subarray(0, 1000));
      const c = cOpen.response.then((r) => (order.push('c'), r));
      await until(s.url, (h) => h.queue.held === 1);
      const d = sendExpecting(path, { 'content-length': body.length }, body, sockets).then((r) => (order.push('d'), r));
      await until(s.url, (h) => h.queue.held === 2);
      const e = await send(path, { body });
      expect(e.status).toBe(429);
      expect(e.json().error).toBe(
        'Expected a free place (1 running + 1 queued, 2 waiting) but all are taken; retry later',
      );
      // Retry-After counts the hold line: 2 admitted − 1 running + 1, plus 2 waiting, at ≥ 1 s.
      expect(Number(e.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      let h = await health(s.url);
      expect(h.queue).toMatchObject({ admitted: 2, held: 2, uploading: 2 });
      expect(h.counts).toMatchObject({ started: 0, rejected: 1 });
      a.req.end(body.subarray(100));
      expect((await a.response).status).toBe(200);
      // a's place went to c, the first in line; d still waits and has not been sent 100 Continue.
      h = await until(s.url, (x) => x.queue.held === 1);
      expect(h.queue).toMatchObject({ admitted: 2, held: 1, uploading: 2 });
      expect(order).toEqual([]);
      // c finishes first: its place goes to d (100 Continue), then b finishes.
      cOpen.req.end(body.subarray(1000));
      const rc = await c;
      b.req.end(body.subarray(100));
      const [rb, rd] = await Promise.all([b.response, d]);
      expect([rb.status, rc.status, rd.status, rd.continued]).toEqual([200, 200, 200, true]);
      expect(order).toEqual(['c', 'd']);
      expectSameRow(rowOf(rd), weightSpectrumToRow(await weightSpectrum(W)));
      h = await health(s.url);
      expect(h.counts).toMatchObject({ served: 4, started: 4, rejected: 1, cancelled: 0 });
      expect(h.queue).toMatchObject({ admitted: 0, held: 0 });
    } finally {
      await s.close();
    }
  });

  it('a client that disconnects while it waits for a place leaves the hold line and takes no place', async () => {
    const s = await startServer({ port: 0, maxConcurrent: 1, queueLength: 0, holdLength: 4 });
    const sockets = trackSockets(s.app.server);
    try {
      const body = bytesOf(W.data);
      const path = `${s.url}/weights?shape=120x60&dtype=float64`;
      const a = open(path, { 'content-length': body.length });
      a.req.write(body.subarray(0, 100));
      await until(s.url, (h) => h.queue.uploading === 1);
      const b = open(path, { 'content-length': body.length });
      b.req.write(body);
      const c = open(path, { 'content-length': body.length, expect: '100-continue' });
      c.req.flushHeaders();
      await until(s.url, (h) => h.queue.held === 2);
      b.req.destroy();
      c.req.destroy();
      let h = await until(s.url, (x) => x.queue.held === 0);
      expect(h.queue.admitted).toBe(1);
      h = await until(s.url, (x) => x.counts.cancelled === 2);
      a.req.end(body.subarray(100));
      expect((await a.response).status).toBe(200);
      h = await health(s.url);
      expect(h.counts).toMatchObject({ served: 1, started: 1, cancelled: 2, rejected: 0 });
      expect(h.queue).toMatchObject({ admitted: 0, held: 0 });
      const after = await sendExpecting(path, { 'content-length': body.length }, body, sockets);
      expect([after.status, after.continued]).toEqual([200, true]);
    } finally {
      await s.close();
    }
  });

  it('closing: new requests get 503 with Retry-After while the admitted ones finish', async () => {
    const svc = new AnalysisService({ maxConcurrent: 1, queueLength: 1 });
    const chunks = [bytesOf(W.data)];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slowBody() {
      await gate;
      yield* chunks;
    }
    const query = new URLSearchParams('shape=120x60&dtype=float64');
    const pending = svc.handle('weights', { body: slowBody(), headers: {}, query });
    const queued = svc.handle('weights', { body: slowBody(), headers: {}, query });
    const held = svc.handle('weights', { body: slowBody(), headers: {}, query });
    await new Promise((r) => setTimeout(r, 5));
    expect(svc.queueState()).toMatchObject({ admitted: 2, held: 1 });
    const closed = svc.close();
    const refused = await svc.handle('weights', { body: slowBody(), headers: {}, query: new URLSearchParams() });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    // The request in the hold line is refused too; the admitted ones go on.
    expect((await held).status).toBe(503);
    expect(svc.queueState().held).toBe(0);
    release();
    expect((await pending).status).toBe(200);
    expect((await queued).status).toBe(200);
    await closed;
    expect(svc.health().status).toBe('closing');
  });
});

describe('Expect: 100-continue', () => {
  it('with a free place the server sends 100 Continue, then the row of the direct library call', async () => {
    const s = await startServer({ port: 0, maxConcurrent: 1, queueLength: 1 });
    const sockets = trackSockets(s.app.server);
    try {
      const body = bytesOf(W.data);
      const r = await sendExpecting(
        `${s.url}/weights?shape=120x60&dtype=float64`,
        { 'content-length': body.length },
        body,
        sockets,
      );
      expect(r.status, r.text).toBe(200);
      expect(r.continued).toBe(true);
      expect(r.serverBytesRead).toBeGreaterThan(body.length);
      expectSameRow(rowOf(r), weightSpectrumToRow(await weightSpectrum(W)));
      const snap = npy('<f8', [80, 16], REPS.data);
      const o = await sendExpecting(`${s.url}/omd`, { 'content-length': snap.length }, snap, sockets);
      expect(o.status, o.text).toBe(200);
      expect(o.continued).toBe(true);
      expectSameRow(rowOf(o), omdSnapshotToRow(await analyzeObservable(REPS)));
      // The place taken when 100 Continue was sent is the request's own: none is left over.
      const h = await health(s.url);
      expect(h.queue.admitted).toBe(0);
      expect(h.counts).toMatchObject({ served: 2, rejected: 0, started: 2 });
      // A plain request (no Expect) on the same server is served as before.
      const plain = await send(`${s.url}/weights?shape=120x60&dtype=float64`, { body });
      expect(plain.status).toBe(200);
      expectSameRow(rowOf(plain), weightSpectrumToRow(await weightSpectrum(W)));
    } finally {
      await s.close();
    }
  });

  it('a Content-Length over maxUploadBytes is a 413 before any body byte, and a lying raw length a 400', async () => {
    const sockets = trackSockets(server.app.server);
    const before = await health(base);
    const big = Buffer.alloc(2 << 20);
    const r = await sendExpecting(`${base}/weights`, { 'content-length': big.length }, big, sockets);
    expect(r.status).toBe(413);
    expect(r.continued).toBe(false);
    expect(r.serverBytesRead).toBeLessThan(1024);
    expect(r.headers.connection).toBe('close');
    expect(r.json().error).toBe(
      'Expected a body of at most 1048576 bytes (maxUploadBytes) but received Content-Length 2097152',
    );
    const lying = await sendExpecting(
      `${base}/weights?shape=120x60&dtype=float64`,
      { 'content-length': 1000 },
      Buffer.alloc(1000),
      sockets,
    );
    expect(lying.status).toBe(400);
    expect(lying.continued).toBe(false);
    expect(lying.json().error).toBe(
      'Expected 57600 bytes for shape 120x60 of float64 but received Content-Length 1000',
    );
    const after = await health(base);
    expect(after.counts.tooLarge).toBe(before.counts.tooLarge! + 1);
    expect(after.counts.badRequest).toBe(before.counts.badRequest! + 1);
    expect(after.queue.admitted).toBe(0);
  });

  it('embedded in node:http: other routes get 100 Continue, and a place taken for a request answered elsewhere is given back', async () => {
    const service = new AnalysisService({ maxConcurrent: 1, queueLength: 0, workers: 0 });
    const weights = nodeHandler(service, 'weights');
    const srv = http.createServer((req, res) => {
      // An authorisation check in front of the analysis route answers some requests itself.
      if (req.headers.authorization !== 'ok') {
        res.writeHead(401, { connection: 'close' }).end();
        return;
      }
      if (req.url?.startsWith('/spectra/weights')) void weights(req, res);
      else req.pipe(res); // an echo route of the app's own
    });
    srv.on('checkContinue', continueListener(service, srv, '/spectra'));
    const sockets = trackSockets(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const at = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    try {
      const body = bytesOf(W.data);
      const echo = await sendExpecting(
        `${at}/echo`,
        { 'content-length': 5, authorization: 'ok' },
        Buffer.from('hello'),
        sockets,
      );
      expect([echo.status, echo.continued, echo.text]).toEqual([200, true, 'hello']);
      const denied = await sendExpecting(
        `${at}/spectra/weights?shape=120x60&dtype=float64`,
        { 'content-length': body.length },
        body,
        sockets,
      );
      expect([denied.status, denied.continued]).toEqual([401, true]);
      await new Promise((r) => setTimeout(r, 20));
      expect(service.queueState().admitted).toBe(0); // the one place is free again
      const ok = await sendExpecting(
        `${at}/spectra/weights?shape=120x60&dtype=float64`,
        { 'content-length': body.length, authorization: 'ok' },
        body,
        sockets,
      );
      expect([ok.status, ok.continued]).toEqual([200, true]);
      expectSameRow(rowOf(ok), weightSpectrumToRow(await weightSpectrum(W)));
      expect(service.stats()).toMatchObject({ served: 1, rejected: 0 });
      expect(service.queueState().admitted).toBe(0);
      expect(() => continueListener(service, srv, 42 as unknown as string)).toThrow(
        "Expected a path prefix or a route matcher for continueListener's routes but received 42",
      );
      expect(() => continueListener({} as AnalysisService, srv)).toThrow(
        "Expected an AnalysisService for continueListener's service but received an object",
      );
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
      await service.close();
    }
  });
});

describe('AdmissionQueue', () => {
  it('admits maxConcurrent + queueLength, runs FIFO, and drops a waiter whose signal aborts', async () => {
    const q = new AdmissionQueue(1, 2);
    expect([q.admit(), q.admit(), q.admit(), q.admit()]).toEqual([true, true, true, false]);
    const order: string[] = [];
    let finishFirst!: () => void;
    const first = q.run(() => new Promise<void>((r) => (finishFirst = r)).then(() => void order.push('a')));
    const ac = new AbortController();
    const second = q.run(async () => void order.push('b'), ac.signal);
    const third = q.run(async () => void order.push('c'));
    expect(q.state()).toMatchObject({ active: 1, waiting: 2, uploading: 0, admitted: 3 });
    ac.abort();
    await expect(second).rejects.toBeInstanceOf(AbortError);
    expect(q.state().waiting).toBe(1);
    finishFirst();
    await Promise.all([first, third]);
    expect(order).toEqual(['a', 'c']);
    for (let i = 0; i < 3; i++) q.leave();
    expect(q.state()).toMatchObject({ active: 0, waiting: 0, admitted: 0 });
    expect(() => q.leave()).toThrow(/without admit/);
  });

  it('holds requests FIFO while every place is taken, hands a freed place to the head, drops an aborted one, refuses when full', async () => {
    const q = new AdmissionQueue(1, 0, 2);
    expect(q.admit()).toBe(true);
    const ac = new AbortController();
    const first = q.enter();
    const second = q.enter(ac.signal);
    expect(await q.enter()).toBe(false); // the hold line is full
    expect(q.admit()).toBe(false); // nobody jumps the line
    expect(q.state()).toMatchObject({ admitted: 1, held: 2, holdLength: 2 });
    ac.abort();
    await expect(second).rejects.toBeInstanceOf(AbortError);
    expect(q.state().held).toBe(1);
    const third = q.enter();
    q.leave(); // the place goes to `first`, not back to the pool
    expect(await first).toBe(true);
    expect(q.state()).toMatchObject({ admitted: 1, held: 1 });
    q.refuseHeld();
    expect(await third).toBe(false);
    q.leave();
    expect(q.state()).toMatchObject({ admitted: 0, held: 0 });
    const aborted = new AbortController();
    aborted.abort();
    expect(q.admit()).toBe(true);
    await expect(q.enter(aborted.signal)).rejects.toBeInstanceOf(AbortError);
    expect(() => new AdmissionQueue(1, 0, -1)).toThrow('Expected an integer ≥ 0 for holdLength but received -1');
  });

  it('checks its limits', () => {
    expect(() => new AdmissionQueue(0, 1)).toThrow(RangeError);
    expect(() => new AdmissionQueue(1, -1)).toThrow('Expected an integer ≥ 0 for queueLength but received -1');
    expect(() => new AnalysisService({ maxUploadBytes: 0 })).toThrow(
      'Expected an integer ≥ 1 for maxUploadBytes but received 0',
    );
    expect(new HttpError(400, 'one\ntwo').message).toBe('one');
  });
});

describe('health and columns', () => {
  it('health reports the native build, threads, queue, limits and memory', async () => {
    const h = (await health(base)) as unknown as Record<string, Record<string, unknown>>;
    const info = nativeInfo();
    expect(h.status).toBe('ok');
    expect(h.native).toMatchObject({ blas: info.blas, buildType: info.buildType, napiVersion: info.napiVersion });
    expect(h.threads).toMatchObject({ blas: getThreads(), hardware: info.hardwareThreads });
    expect(h.queue).toMatchObject({ maxConcurrent: 2, queueLength: 4 });
    expect(h.limits).toMatchObject({ maxUploadBytes: 1 << 20, maxConcurrent: 2, queueLength: 4 });
    expect(h.memory!.rss as number).toBeGreaterThan(0);
    const pool = h.memory!.pool as { bytes: number; blocks: number; limit: number };
    expect(Number.isInteger(pool.bytes) && pool.bytes >= 0).toBe(true);
    expect(pool.limit).toBeGreaterThan(0);
  });

  it("health's gc counts the event loop's full collections", async () => {
    const svc = new AnalysisService({ workers: 0 });
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    const before = svc.health().gc;
    collect();
    collect();
    // The observer's entries arrive on a later turn of the event loop.
    let after = svc.health().gc;
    for (let i = 0; i < 50 && after.full < before.full + 2; i++) {
      await new Promise((r) => setTimeout(r, 10));
      after = svc.health().gc;
    }
    expect(after.full).toBeGreaterThanOrEqual(before.full + 2);
    expect(after.fullMs).toBeGreaterThan(before.fullMs);
    await svc.close();
  });

  it('columns are the registries', async () => {
    const r = await send(`${base}/columns`, { method: 'GET' });
    expect(r.json()).toEqual(
      JSON.parse(JSON.stringify({ weights: WEIGHT_SPECTRUM_COLUMNS, omd: OMD_SNAPSHOT_COLUMNS })),
    );
  });
});

describe('embedding', () => {
  it('node:http (and so Express): nodeHandler serves rows and limits as the standalone server does', async () => {
    const service = new AnalysisService({ maxUploadBytes: 1 << 16, maxConcurrent: 1 });
    const weights = nodeHandler(service, 'weights');
    const healthRoute = nodeHealthHandler(service);
    const srv = http.createServer((req, res) => {
      if (req.url?.startsWith('/spectra/weights')) void weights(req, res);
      else if (req.url === '/spectra/health') void healthRoute(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      const small = randn(40, 30, 5);
      const r = await send(`http://127.0.0.1:${port}/spectra/weights?shape=40x30&dtype=float64`, {
        body: bytesOf(small.data),
      });
      expect(r.status, r.text).toBe(200);
      expectSameRow(rowOf(r), weightSpectrumToRow(await weightSpectrum(small)));
      const big = await send(`http://127.0.0.1:${port}/spectra/weights`, { body: Buffer.alloc(1 << 17) });
      expect(big.status).toBe(413);
      const h = (await send(`http://127.0.0.1:${port}/spectra/health`, { method: 'GET' })).json();
      expect(h.counts).toMatchObject({ served: 1, tooLarge: 1 });
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('Fastify: the plugin under a prefix leaves the app’s own JSON routes alone', async () => {
    const app = Fastify();
    app.post('/echo', async (request) => request.body);
    await app.register(specdynRoutes, { prefix: '/spectra', service: new AnalysisService({ maxConcurrent: 1 }) });
    try {
      const echo = await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } });
      expect(echo.json()).toEqual({ a: 1 });
      const r = await app.inject({
        method: 'POST',
        url: '/spectra/omd?metric=angular',
        headers: { 'content-type': 'application/x-npy' },
        payload: npy('<f8', [80, 16], REPS.data),
      });
      expect(r.statusCode, r.body).toBe(200);
      const got = decodeLine(JSON.stringify(r.json().row))!;
      expectSameRow(got, omdSnapshotToRow(await analyzeObservable(REPS)));
      const bad = await app.inject({ method: 'POST', url: '/spectra/omd', payload: { a: 1 } });
      expect(bad.statusCode).toBe(400);
    } finally {
      await app.close();
    }
    const wrong = Fastify();
    await expect(wrong.register(specdynRoutes, { service: {} as AnalysisService })).rejects.toThrow(
      "Expected an AnalysisService for specdynRoutes option 'service' but received an object",
    );
    await wrong.close();
  });
});

describe('specdyn serve', () => {
  const BIN = resolve('dist/cli/main.js');

  /** `node [nodeFlags] specdyn serve --port 0 --json [flags]`: its start-up document, exit code and stderr. */
  const startServe = async (flags: string[], nodeFlags: string[] = []) => {
    const child = spawn(process.execPath, [...nodeFlags, BIN, 'serve', '--port', '0', '--json', ...flags], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const out = { stderr: '' };
    child.stderr.on('data', (d: Buffer) => (out.stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const doc = await new Promise<{ url: string; limits: Record<string, number>; heapGrowth: string }>(
      (resolveDoc, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d;
          try {
            resolveDoc(JSON.parse(stdout));
          } catch {
            // not all of it yet
          }
        });
        child.on('exit', () => reject(new Error(`serve exited early: ${out.stderr}`)));
      },
    );
    return { child, exited, doc, out };
  };

  it('starts on a free port, answers, and on Ctrl-C stops admitting, finishes and exits 0', async () => {
    expect(existsSync(BIN), 'dist/cli/main.js is missing: run node scripts/bootstrap.mjs').toBe(true);
    const { child, exited, doc, out } = await startServe(['--max-concurrent', '1', '--queue', '3']);
    expect(doc.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(doc.limits).toMatchObject({ maxConcurrent: 1, queueLength: 3, workers: 1 });
    const r = await send(`${doc.url}/weights?shape=120x60&dtype=float64`, { body: bytesOf(W.data) });
    expect(r.status).toBe(200);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out.stderr).toContain('closed; served 1');
  });

  it('SIGTERM drains and exits 0 as Ctrl-C does', async () => {
    const { child, exited, doc, out } = await startServe(['--workers', '1']);
    const url = doc.url;
    expect((await send(`${url}/weights?shape=120x60&dtype=float64`, { body: bytesOf(W.data) })).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out.stderr).toContain('closed; served 1');
  });

  it("runs its workers under node's own V8 flags, sets the heap growth unless node has one, and reports the event loop's collections", async () => {
    const start = (nodeFlags: string[], flags: string[]) => startServe(['--workers', '1', ...flags], nodeFlags);
    // --max-old-space-size is one of the process-wide flags a worker_thread refuses in its execArgv.
    const a = await start(['--max-old-space-size=512'], []);
    expect(a.doc.heapGrowth).toBe('300%');
    expect((await send(`${a.doc.url}/weights?shape=120x60&dtype=float64`, { body: bytesOf(W.data) })).status).toBe(200);
    const h = (await (await send(`${a.doc.url}/health`, { method: 'GET' })).json()) as {
      gc: { full: number; fullMs: number; young: number; youngMs: number };
    };
    for (const k of ['full', 'fullMs', 'young', 'youngMs'] as const) expect(h.gc[k]).toBeGreaterThanOrEqual(0);
    a.child.kill('SIGINT');
    expect(await a.exited).toBe(0);
    const b = await start(['--heap-growing-percent=150'], ['--heap-growth', '300']);
    expect(b.doc.heapGrowth).toBe('--heap-growing-percent=150');
    b.child.kill('SIGINT');
    expect(await b.exited).toBe(0);
    const c = await start([], ['--heap-growth', '0']);
    expect(c.doc.heapGrowth).toBe("V8's own");
    c.child.kill('SIGINT');
    expect(await c.exited).toBe(0);
  });

  it('a bad flag is a usage error (exit 2) naming the flag', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--max-upload', 'lots'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      "error: Expected a byte size such as 64MiB or 1048576 for --max-upload but received 'lots'",
    );
  });
});
