/**
 * `specdyn serve`: the analysis service over HTTP (src/server, docs/server.md) until Ctrl-C or
 * SIGTERM, which stop admitting (503), let the admitted requests finish and close.
 */
import type { Command } from 'commander';
import { examples, type CliContext } from './context.js';
import { UsageError } from './train-config.js';

/** Flags of `specdyn serve` as commander hands them (strings). */
interface ServeFlags {
  port?: string;
  host?: string;
  maxUpload?: string;
  maxMatrix?: string;
  maxConcurrent?: string;
  queue?: string;
  hold?: string;
  threads?: string;
  requestTimeout?: string;
  workers?: string;
  heapGrowth?: string;
}

/**
 * V8's old-generation growth between full collections that `specdyn serve` sets for its process
 * (`--heap-growing-percent`), unless node was started with its own: 300 % lets the heap grow to four
 * times its live size between full collections, the largest factor V8 itself chooses.
 * V8's own choice for the event loop's small heap (≈ 11 MB live) leaves less room than one young
 * generation, so with many clients in flight it re-marks the heap every few hundred ms
 * (docs/server.md "Garbage collection").
 */
export const DEFAULT_HEAP_GROWTH_PERCENT = 300;

const UNITS: Record<string, number> = {
  '': 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1 << 20,
  mb: 1 << 20,
  mib: 1 << 20,
  g: 1 << 30,
  gb: 1 << 30,
  gib: 1 << 30,
};

/** A byte size: an integer with an optional binary unit (k, M, G; KiB, MiB, GiB). @throws UsageError. */
export function parseBytes(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`Expected a byte size such as 64MiB or 1048576 for ${flag} but received '${text}'`);
  return n;
}

/** A whole number ≥ min. @throws UsageError. */
export function parseCount(text: string, flag: string, min: number): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`Expected an integer ≥ ${min} for ${flag} but received '${text}'`);
  return n;
}

/** Registers `specdyn serve`. */
export function registerServe(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description(
      'serve weight spectra and OMD snapshot figures over HTTP (POST .npy, safetensors or raw floats; JSON rows as the run store writes them)',
    )
    .option('-p, --port <n>', 'TCP port (default 8080; 0 = any free port)')
    .option('--host <address>', 'interface to listen on (default 127.0.0.1, loopback only; 0.0.0.0 for all)')
    .option('--max-upload <bytes>', 'largest request body, e.g. 64MiB (default 64MiB); larger: 413 before buffering')
    .option('--max-matrix <entries>', 'largest matrix in entries (rows x cols; OMD also N x N), default 4194304')
    .option('--max-concurrent <n>', 'analyses running at once (default: hardware threads)')
    .option('--queue <n>', 'requests admitted beyond the running ones (default 4 x max-concurrent)')
    .option(
      '--hold <n>',
      'requests that wait for a place, bodies unread, when every one is taken (default 32 x max-concurrent; 0 = none); beyond: 429',
    )
    .option(
      '--workers <n>',
      'worker threads running the analyses off the event loop (default: max-concurrent; 0 = on the event loop)',
    )
    .option('--threads <n>', 'BLAS threads of large operations (setThreads; default: as configured)')
    .option(
      '--heap-growth <percent>',
      `V8 heap growth between full collections, in % (default ${DEFAULT_HEAP_GROWTH_PERCENT}; 0 = V8's own; node's --heap-growing-percent wins)`,
    )
    .option('--request-timeout <seconds>', 'longest time a request may take to arrive in full (default 120)')
    .addHelpText(
      'after',
      examples([
        'specdyn serve',
        'specdyn serve --port 9000 --max-concurrent 2 --queue 8',
        'specdyn serve --workers 0    # analyses on the event loop, no worker threads',
        'UV_THREADPOOL_SIZE=8 specdyn serve --host 0.0.0.0 --max-upload 256MiB --max-matrix 16777216',
        "curl --data-binary @w.npy 'http://127.0.0.1:8080/v1/weights'   # curl sends Expect: 100-continue for large bodies",
      ]) +
        '\nRoutes: POST /v1/weights, POST /v1/omd, GET /v1/health, GET /v1/columns (docs/server.md). Ctrl-C or SIGTERM: stop admitting, finish, exit 0.\n',
    )
    .action(async (flags: ServeFlags, cmd: Command) => {
      const o = context.out(cmd);
      const options = {
        port: flags.port === undefined ? 8080 : parseCount(flags.port, '--port', 0),
        host: flags.host ?? '127.0.0.1',
        ...(flags.maxUpload !== undefined && { maxUploadBytes: parseBytes(flags.maxUpload, '--max-upload') }),
        ...(flags.maxMatrix !== undefined && { maxMatrixElements: parseCount(flags.maxMatrix, '--max-matrix', 4) }),
        ...(flags.maxConcurrent !== undefined && {
          maxConcurrent: parseCount(flags.maxConcurrent, '--max-concurrent', 1),
        }),
        ...(flags.queue !== undefined && { queueLength: parseCount(flags.queue, '--queue', 0) }),
        ...(flags.hold !== undefined && { holdLength: parseCount(flags.hold, '--hold', 0) }),
        ...(flags.workers !== undefined && { workers: parseCount(flags.workers, '--workers', 0) }),
        ...(flags.requestTimeout !== undefined && {
          requestTimeoutMs: 1000 * parseCount(flags.requestTimeout, '--request-timeout', 1),
        }),
      };
      if (options.port > 65535)
        throw new UsageError(`Expected a port in [0, 65535] for --port but received ${options.port}`);
      const threads = flags.threads === undefined ? undefined : parseCount(flags.threads, '--threads', 1);
      const growth =
        flags.heapGrowth === undefined ? DEFAULT_HEAP_GROWTH_PERCENT : parseCount(flags.heapGrowth, '--heap-growth', 0);
      const nodeGrowth = process.execArgv.find((a) => a.startsWith('--heap-growing-percent'));
      // A process-wide V8 flag V8 reads at every full collection (the workers' isolates too).
      if (growth > 0 && !nodeGrowth) (await import('node:v8')).setFlagsFromString(`--heap-growing-percent=${growth}`);
      const { setThreads } = await import('../linalg/index.js');
      if (threads !== undefined) setThreads(threads);
      const { startServer } = await import('../server/index.js');
      const server = await startServer(options);
      const h = server.service.health();
      const summary = {
        url: server.url,
        port: server.port,
        limits: h.limits,
        threads: h.threads,
        heapGrowth: nodeGrowth ?? (growth > 0 ? `${growth}%` : "V8's own"),
      };
      o.result(summary, () =>
        [
          `specdyn serve: listening on ${server.url} (POST /weights, POST /omd, GET /health, GET /columns)`,
          `limits: upload ${h.limits.maxUploadBytes} bytes, matrix ${h.limits.maxMatrixElements} entries, ${h.limits.maxConcurrent} running + ${h.limits.queueLength} queued + ${h.limits.holdLength} waiting, ${h.limits.workers} workers`,
          `threads: BLAS ${h.threads.blas}, libuv pool ${h.threads.uvThreadpool}, hardware ${h.threads.hardware}; V8 heap growth ${summary.heapGrowth}`,
        ].join('\n'),
      );
      // Ctrl-C (main.ts) or SIGTERM (what process managers and containers send) drain and close.
      const signal = context.state.abort.signal;
      let onTerm = () => {};
      await new Promise<void>((resolve) => {
        onTerm = resolve;
        process.once('SIGTERM', onTerm);
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
      process.off('SIGTERM', onTerm);
      o.info('specdyn serve: closing (finishing admitted requests)');
      await server.close();
      const c = server.service.stats();
      o.info(
        `specdyn serve: closed; served ${c.served}, rejected ${c.rejected}, too large ${c.tooLarge}, bad ${c.badRequest}, cancelled ${c.cancelled}`,
      );
    });
}
