/**
 * The analysis service, independent of any web framework: one {@link AnalysisService} holds the
 * limits, the admission queue and the counters, and turns a request (a body stream, its headers,
 * its query, an AbortSignal that fires when the client goes away) into a response (status,
 * headers, JSON text). The Fastify plugin (fastify.ts) and the node:http / Express handler
 * (node.ts) are thin adapters over {@link AnalysisService.handle}.
 *
 * Request path: admission (a place, or a wait in the hold line with the body unread; 429 with
 * Retry-After when the hold line is full too, 503 while closing; for a request sent with
 * `Expect: 100-continue`, {@link AnalysisService.checkContinue} does it and the header checks
 * before the client uploads anything) →
 * header checks (400/413 before reading) → the body under the byte limit (413 as soon as it is
 * passed) → decoding (400/413) → a running slot (FIFO; a client that disconnects while waiting
 * is dropped, its analysis never starts) → the analysis on the native pool → the row.
 *
 * Response of an analysis (200): `{"family":"weights"|"omd","format","shape","dtype","row":{…}}`
 * where `row` has exactly the run store's columns ({@link WEIGHT_SPECTRUM_COLUMNS} or
 * {@link OMD_SNAPSHOT_COLUMNS}) and non-finite numbers are written as steps.jsonl writes them
 * (null, named in the row's `_nonfinite` map); with `?arrays=1` also `"arrays":{…}`. Errors:
 * `{"error":"<one line>","status":<code>}`. A 200 carries `Server-Timing: upload;dur=<ms>, queue;dur=<ms>, analysis;dur=<ms>`.
 */
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { AbortError } from '../errors.js';
import { defaultConcurrency } from '../concurrency.js';
import { getThreads, nativeInfo, type PoolInfo } from '../linalg/index.js';
import { WEIGHT_SPECTRUM_COLUMNS } from '../rmt/index.js';
import { OMD_SNAPSHOT_COLUMNS } from '../omd/index.js';
import { encodeLine } from '../store/jsonl.js';
import { checkInteger } from '../validate.js';
import { contentLength, readBody, tooLarge } from './body.js';
import { decodeBody, parseQuery, precheck, type AnalysisKind, type QueryInput } from './decode.js';
import { analyze, failureStatus } from './analysis.js';
import { WorkerPool } from './pool.js';
import { HttpError, oneLine } from './http-error.js';
import { AdmissionQueue, type QueueState } from './queue.js';

/** Limits of an {@link AnalysisService}; every field optional. */
export interface ServiceOptions {
  /** Largest request body accepted, in bytes (default 64 MiB). Over it: 413, before the body is buffered. */
  maxUploadBytes?: number;
  /**
   * Largest matrix accepted, in entries: rows x cols of the upload and, for OMD, N x N of the
   * distance matrix it makes (default 4 194 304 = 2048²). Over it: 413.
   */
  maxMatrixElements?: number;
  /** Analyses running at once (default: the hardware threads the native core sees). */
  maxConcurrent?: number;
  /** Requests admitted beyond the running ones, uploading or waiting (default 4 x maxConcurrent). */
  queueLength?: number;
  /**
   * Requests that wait for a place when every one is taken, their bodies unread (default 32 x
   * maxConcurrent: at 2 cores, 64 waiting clients; 0: refuse at once). FIFO: a freed place goes
   * to the longest waiting. Each costs its headers in memory (and, for a client that sent its body without
   * `Expect: 100-continue`, what the socket buffers of that body). Beyond: 429 with Retry-After.
   */
  holdLength?: number;
  /**
   * Worker threads that run the analyses (default: maxConcurrent, one per running analysis;
   * 0 runs them on the event loop). With workers the TypeScript part of each analysis (the fits)
   * leaves the event loop that reads uploads and answers requests. Each worker loads the native
   * core and adds its own V8 heap (10–20 MiB of RSS); they start with the service.
   */
  workers?: number;
}

/** One request, as the adapters hand it over. */
export interface AnalysisRequest {
  /** The body, not yet read (a node IncomingMessage, or any async iterable of bytes). */
  body: AsyncIterable<Uint8Array>;
  /** The request headers (lower-case names); content-length and content-type are read. */
  headers: Record<string, string | string[] | undefined>;
  /** The query parameters. */
  query: QueryInput;
  /** Fires when the client goes away: a request not yet started is dropped. */
  signal?: AbortSignal;
  /**
   * The framework's underlying request object (node's IncomingMessage), when
   * {@link AnalysisService.checkContinue} was called with it: the request then uses the place
   * taken there instead of being admitted again.
   */
  raw?: object;
}

/** One response: status, headers, JSON text. */
export interface AnalysisResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Counters since the service was made. */
export interface ServiceCounts {
  /** Analyses answered with 200. */
  served: number;
  /** Analyses started on the pool. */
  started: number;
  /** Refused at admission: 429 (queue full) or 503 (closing). */
  rejected: number;
  /** Refused with 413 (upload or matrix over its limit). */
  tooLarge: number;
  /** Refused with 400 (malformed input). */
  badRequest: number;
  /** Dropped because the client went away before its analysis started (mid-upload or while queued). */
  cancelled: number;
  /** Started analyses whose client had gone away by the time they finished (result discarded). */
  abandoned: number;
  /** Failed for a reason that is not the client's (500) or a numerical failure (422). */
  failed: number;
}

/** What `GET /health` returns. */
export interface HealthReport {
  status: 'ok' | 'closing';
  native: {
    blas: string;
    core: string;
    /** nativeInfo().blasVendor: 'openblas', 'mkl' or 'unknown'. */
    blasVendor: string;
    buildType: string;
    staticBlas: boolean;
    compiler: string;
    napiVersion: number;
  };
  threads: {
    /** BLAS threads of large operations (setThreads). */
    blas: number;
    /** Hardware threads the native core sees. */
    hardware: number;
    /** libuv's pool size: UV_THREADPOOL_SIZE, or libuv's default 4. */
    uvThreadpool: number;
  };
  queue: QueueState;
  counts: ServiceCounts;
  limits: Required<ServiceOptions>;
  memory: {
    rss: number;
    heapUsed: number;
    external: number;
    arrayBuffers: number;
    /** The native memory pool: bytes and blocks kept for reuse, and its limit (nativeInfo().pool). */
    pool: PoolInfo;
  };
  /** Mean service time of the last analyses, in seconds (exponentially weighted; 0 before the first). */
  serviceSeconds: number;
  /**
   * The garbage collections of this thread (the event loop's isolate; the analysis workers have
   * their own) since the first service of the process was made: full (mark-compact) and young
   * (scavenge) collections, counts and pause milliseconds on this thread.
   */
  gc: GcTally;
}

/** Collections of one isolate: counts and the milliseconds they held its thread. */
export interface GcTally {
  full: number;
  fullMs: number;
  young: number;
  youngMs: number;
}

let gcTally: GcTally | undefined;

/** The process's event-loop GC tally, started at the first call (one observer per process). */
function eventLoopGc(): GcTally {
  if (gcTally) return gcTally;
  const tally: GcTally = { full: 0, fullMs: 0, young: 0, youngMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
        tally.full++;
        tally.fullMs += e.duration;
      } else if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) {
        tally.young++;
        tally.youngMs += e.duration;
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  gcTally = tally;
  return tally;
}

const MIB = 1024 * 1024;
/** Refused clients whose return is tracked for Retry-After, at most (beyond: counted as none). */
const MAX_TRACKED_RETURNS = 100_000;

/** The limits with defaults filled in and checked. @throws TypeError/RangeError naming the option. */
export function resolveServiceOptions(options: ServiceOptions = {}): Required<ServiceOptions> {
  const maxConcurrent = checkInteger(options.maxConcurrent ?? defaultConcurrency(), 'maxConcurrent', { min: 1 });
  return {
    maxUploadBytes: checkInteger(options.maxUploadBytes ?? 64 * MIB, 'maxUploadBytes', { min: 1 }),
    maxMatrixElements: checkInteger(options.maxMatrixElements ?? 2048 * 2048, 'maxMatrixElements', { min: 4 }),
    maxConcurrent,
    queueLength: checkInteger(options.queueLength ?? 4 * maxConcurrent, 'queueLength', { min: 0 }),
    holdLength: checkInteger(options.holdLength ?? 32 * maxConcurrent, 'holdLength', { min: 0 }),
    workers: checkInteger(options.workers ?? maxConcurrent, 'workers', { min: 0 }),
  };
}

/** The JSON of an error response. */
function errorResponse(status: number, message: string, headers: Record<string, string> = {}): AnalysisResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify({ error: oneLine(message), status }),
  };
}

/** The service (see the module doc). Make one per process and share it among routes. */
export class AnalysisService {
  /** The resolved limits. */
  readonly limits: Readonly<Required<ServiceOptions>>;
  private readonly queue: AdmissionQueue;
  private readonly pool: WorkerPool | undefined;
  private readonly counts: ServiceCounts = {
    served: 0,
    started: 0,
    rejected: 0,
    tooLarge: 0,
    badRequest: 0,
    cancelled: 0,
    abandoned: 0,
    failed: 0,
  };
  private ewmaSeconds = 0;
  /** When the clients told to retry are due back (performance.now() ms; see retryAfter). */
  private readonly returns: number[] = [];
  private closing = false;
  /** Requests that took their place in checkContinue and have not reached handle() yet. */
  private readonly reserved = new WeakSet<object>();
  private idleWaiters: (() => void)[] = [];

  /** @throws TypeError/RangeError for a bad limit (see {@link ServiceOptions}). */
  constructor(options: ServiceOptions = {}) {
    this.limits = Object.freeze(resolveServiceOptions(options));
    this.queue = new AdmissionQueue(this.limits.maxConcurrent, this.limits.queueLength, this.limits.holdLength);
    this.pool = this.limits.workers > 0 ? new WorkerPool(this.limits.workers) : undefined;
    eventLoopGc();
  }

  /** The queue state now. */
  queueState(): QueueState {
    return this.queue.state();
  }

  /** A copy of the counters. */
  stats(): ServiceCounts {
    return { ...this.counts };
  }

  /** The health report (cheap: no native work). */
  health(): HealthReport {
    const info = nativeInfo();
    const mem = process.memoryUsage();
    const pool = info.pool;
    const uv = Number(process.env.UV_THREADPOOL_SIZE);
    return {
      status: this.closing ? 'closing' : 'ok',
      native: {
        blas: info.blas,
        core: info.core,
        blasVendor: info.blasVendor,
        buildType: info.buildType,
        staticBlas: info.staticBlas,
        compiler: info.compiler,
        napiVersion: info.napiVersion,
      },
      threads: {
        blas: getThreads(),
        hardware: info.hardwareThreads,
        uvThreadpool: Number.isInteger(uv) && uv > 0 ? Math.min(uv, 1024) : 4,
      },
      queue: this.queue.state(),
      counts: this.stats(),
      limits: { ...this.limits },
      memory: { rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, arrayBuffers: mem.arrayBuffers, pool },
      serviceSeconds: this.ewmaSeconds,
      gc: { ...eventLoopGc() },
    };
  }

  /** `GET /health` as a response. */
  healthResponse(): AnalysisResponse {
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(this.health()),
    };
  }

  /** `GET /columns` as a response: the column registries of both families (name, unit, dtype, doc). */
  columnsResponse(): AnalysisResponse {
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ weights: WEIGHT_SPECTRUM_COLUMNS, omd: OMD_SNAPSHOT_COLUMNS }),
    };
  }

  /**
   * Stops admitting (new requests and those in the hold line get 503 with Retry-After) and
   * resolves once every admitted request is over. Idempotent.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.queue.refuseHeld();
    if (this.queue.state().admitted > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.pool?.close();
  }

  /**
   * Seconds a refused client should wait: the requests ahead of it — the queue, the hold line,
   * plus the clients refused earlier whose Retry-After has not yet passed (they come back to
   * compete for the same places) — at the mean service time over the running slots, rounded up,
   * at least 1.
   */
  private retryAfter(): string {
    const s = this.queue.state();
    const now = performance.now();
    const returns = this.returns;
    let live = 0;
    for (const t of returns) if (t > now) returns[live++] = t;
    returns.length = live;
    const ahead = Math.max(1, s.admitted - s.maxConcurrent + 1) + s.held + live;
    const seconds = Math.max(1, Math.ceil((this.ewmaSeconds * ahead) / s.maxConcurrent));
    if (returns.length < MAX_TRACKED_RETURNS) returns.push(now + seconds * 1000);
    return String(seconds);
  }

  /**
   * Admission: undefined once the request has its place (at once, or after a wait in the hold
   * line); the refusal when the hold line is full too (429) or the service is closing (503).
   * @throws AbortError when `signal` aborts while the request waits.
   */
  private async admission(signal: AbortSignal | undefined): Promise<AnalysisResponse | undefined> {
    const admitted = !this.closing && (await this.queue.enter(signal));
    if (admitted && !this.closing) return undefined;
    if (admitted) this.leave(); // admitted from the hold line as the service began to close
    this.counts.rejected++;
    if (this.closing)
      return errorResponse(503, 'The service is shutting down; retry on another instance', { 'retry-after': '1' });
    const s = this.queue.state();
    return errorResponse(
      429,
      `Expected a free place (${s.maxConcurrent} running + ${s.queueLength} queued, ${s.holdLength} waiting) but all are taken; retry later`,
      { 'retry-after': this.retryAfter() },
    );
  }

  /**
   * The answer to a request sent with `Expect: 100-continue`, before its body is sent: the
   * header checks (query, Content-Type, Content-Length against `maxUploadBytes` and, for raw
   * bodies, against shape x dtype) and admission. Returns undefined when the client should be
   * sent `100 Continue`: a place is then taken for `raw` (the request's own object, e.g. node's
   * IncomingMessage), which {@link handle} uses when called with the same `raw`, or
   * {@link releaseContinue} gives back when the request never gets there. While every place is
   * taken the request waits in the hold line (the client waits for its `100 Continue`). Otherwise
   * resolves with the refusal (400, 413, 429 with Retry-After, 503, or 499 when `signal` aborts
   * while it waits), with `Connection: close`: the client has not sent its body, so the
   * connection cannot carry another request.
   */
  async checkContinue(
    kind: AnalysisKind,
    request: { headers: AnalysisRequest['headers']; query: QueryInput; raw: object; signal?: AbortSignal },
  ): Promise<AnalysisResponse | undefined> {
    const close = (r: AnalysisResponse): AnalysisResponse => ({ ...r, headers: { ...r.headers, connection: 'close' } });
    if (kind !== 'weights' && kind !== 'omd')
      return close(errorResponse(404, `Expected 'weights' or 'omd' but received '${kind}'`));
    try {
      this.headerChecks(kind, request.headers, request.query);
    } catch (err) {
      return close(this.failure(err, undefined));
    }
    let refused: AnalysisResponse | undefined;
    try {
      refused = await this.admission(request.signal);
    } catch (err) {
      return close(this.failure(err, request.signal));
    }
    if (refused) return close(refused);
    this.reserved.add(request.raw);
    return undefined;
  }

  /**
   * Gives back the place {@link checkContinue} took for `raw` if {@link handle} has not used it
   * (call it when the response is over, e.g. on the response's 'close'); a no-op otherwise.
   */
  releaseContinue(raw: object): void {
    if (this.reserved.delete(raw)) this.leave();
  }

  private leave(): void {
    this.queue.leave();
    if (this.closing && this.queue.state().admitted === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** The checks made from the headers and the query alone. @throws HttpError 400/413. */
  private headerChecks(kind: AnalysisKind, headers: AnalysisRequest['headers'], query: QueryInput) {
    const q = parseQuery(kind, query);
    const ct = headers['content-type'];
    const declared = contentLength(headers['content-length']);
    precheck(kind, q, Array.isArray(ct) ? ct[0] : ct, declared, this.limits.maxMatrixElements);
    if (declared !== undefined && declared > this.limits.maxUploadBytes)
      throw tooLarge(this.limits.maxUploadBytes, `Content-Length ${declared}`);
    return { q, declared };
  }

  /**
   * Answers one analysis request (never rejects; see the module doc for the statuses). When the
   * client has gone away the returned response is only for the counters: nobody reads it.
   */
  async handle(kind: AnalysisKind, request: AnalysisRequest): Promise<AnalysisResponse> {
    if (kind !== 'weights' && kind !== 'omd')
      return errorResponse(404, `Expected 'weights' or 'omd' but received '${kind}'`);
    const signal = request.signal;
    // A place taken in checkContinue is this request's; otherwise it is admitted now.
    if (!(request.raw !== undefined && this.reserved.delete(request.raw))) {
      let refused: AnalysisResponse | undefined;
      try {
        refused = await this.admission(signal);
      } catch (err) {
        return this.failure(err, signal);
      }
      if (refused) return refused;
    }
    try {
      return await this.admitted(kind, request, signal);
    } catch (err) {
      return this.failure(err, signal);
    } finally {
      this.leave();
    }
  }

  private async admitted(
    kind: AnalysisKind,
    request: AnalysisRequest,
    signal?: AbortSignal,
  ): Promise<AnalysisResponse> {
    const arrived = performance.now();
    const { q, declared } = this.headerChecks(kind, request.headers, request.query);
    let bytes: Uint8Array;
    try {
      bytes = await readBody(request.body, this.limits.maxUploadBytes, declared);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      // The stream failed: the client went away mid-upload (ECONNRESET, 'aborted').
      throw new AbortError('The client went away during the upload', { cause: err });
    }
    const input = decodeBody(kind, bytes, q, this.limits.maxMatrixElements);
    const queued = performance.now();
    let started = queued;
    const result = await this.queue.run(() => {
      started = performance.now();
      this.counts.started++;
      return this.pool ? this.pool.run(kind, input.mat, q.options) : analyze(kind, input.mat, q.options);
    }, signal);
    const ended = performance.now();
    const seconds = (ended - started) / 1000;
    this.ewmaSeconds = this.ewmaSeconds === 0 ? seconds : 0.8 * this.ewmaSeconds + 0.2 * seconds;
    if (signal?.aborted) this.counts.abandoned++;
    else this.counts.served++;
    const head = JSON.stringify({ family: kind, format: input.format, shape: input.shape, dtype: input.dtype });
    const arrays = q.arrays
      ? `,"arrays":${JSON.stringify(result.arrays, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v))}`
      : '';
    return {
      status: 200,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        // Time reading and decoding the body, waiting for a running slot, analysing, in ms.
        'server-timing': `upload;dur=${(queued - arrived).toFixed(1)}, queue;dur=${(started - queued).toFixed(1)}, analysis;dur=${(ended - started).toFixed(1)}`,
      },
      body: `${head.slice(0, -1)},"row":${encodeLine(result.row)}${arrays}}`,
    };
  }

  private failure(err: unknown, signal: AbortSignal | undefined): AnalysisResponse {
    if (err instanceof HttpError) {
      if (err.status === 413) this.counts.tooLarge++;
      else if (err.status === 400) this.counts.badRequest++;
      else if (err.status >= 422) this.counts.failed++; // from a worker (failureStatus)
      return errorResponse(err.status, err.message, { ...err.headers });
    }
    if (signal?.aborted || err instanceof AbortError) {
      this.counts.cancelled++;
      return errorResponse(499, 'The client went away before the analysis started');
    }
    const { status, message } = failureStatus(err);
    if (status === 400) this.counts.badRequest++;
    else this.counts.failed++;
    return errorResponse(status, message);
  }
}
