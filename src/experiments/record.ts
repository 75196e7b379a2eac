/**
 * What every experiment writes besides its own data: `result.json` (the {@link ExperimentResult}'s
 * figures and summary, read back by sweeps and tests), a run directory through the store for
 * experiments that do not train (parameters as config, the results in run.json `meta`), and a
 * report page of the experiment's own figures (Vega-Lite specs rendered to SVG, one
 * self-contained report.html). Also the adapter from an {@link ExperimentContext} to the
 * trainer's hooks, and the parsing of list-valued string parameters.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AbortError, expected } from '../errors.js';
import type { ColumnMeta, Family, Snapshot } from '../store/index.js';
import type { Figure } from '../report/index.js';
import { ParamError, type ExperimentContext, type ExperimentResult, type Params } from './types.js';
import type { TrainHooks } from './mlp.js';

/** File name of an experiment's result in its run directory. */
export const RESULT_FILE = 'result.json';

/** The contents of result.json. */
export interface ResultFile {
  experiment: string;
  params: Params;
  figures: ExperimentResult['figures'];
  summary: string[];
  /** Further experiment-specific data (JSON-safe). */
  data?: unknown;
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** JSON with NaN and ±Infinity written as null. */
export function safeJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => {
      if (typeof v === 'number' && !Number.isFinite(v)) return null;
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      return v;
    },
    1,
  );
}

/** Writes result.json into `dir` (atomically). */
export function writeResult(dir: string, result: ResultFile): void {
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, RESULT_FILE), safeJson(result) + '\n');
}

/** Reads result.json of a run directory. @throws SpecdynError-free Error from fs/JSON when absent or corrupt. */
export function readResult(dir: string): ResultFile {
  return JSON.parse(readFileSync(join(dir, RESULT_FILE), 'utf8')) as ResultFile;
}

/** What {@link startRun} and {@link recordRun} record. */
export interface RecordOptions {
  experiment: string;
  params: Params;
  seed?: number;
  meta?: Record<string, unknown>;
  snapshots?: Snapshot[];
  columns?: Partial<Record<Family, ColumnMeta[]>>;
}

/** An open record of a run: {@link RecordHandle.finish} closes it as finished, `fail` as failed. */
export interface RecordHandle {
  /** Appends the snapshots, merges `meta` into run.json and closes the run as finished. */
  finish(o?: { meta?: Record<string, unknown>; snapshots?: Snapshot[] }): Promise<void>;
  /** Closes the run as failed with the error. */
  fail(err: unknown): Promise<void>;
}

/**
 * Opens the run of an experiment that does not train (before it writes anything else into the
 * directory, e.g. sweep cells): the parameters as its config, the experiment in run.json `meta`.
 * @throws SpecdynError from createRun for a directory that is neither empty nor a run.
 */
export async function startRun(dir: string, o: RecordOptions): Promise<RecordHandle> {
  const { createRun } = await import('../store/index.js');
  const w = await createRun(dir, {
    config: o.params,
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    meta: { command: `specdyn experiment ${o.experiment}`, experiment: o.experiment, ...(o.meta ?? {}) },
    ...(o.columns ? { columns: o.columns } : {}),
  });
  return {
    async finish(f = {}) {
      try {
        for (const s of [...(o.snapshots ?? []), ...(f.snapshots ?? [])]) w.append(s);
        if (f.meta) w.setMeta(f.meta);
        await w.close({ status: 'finished' });
      } catch (err) {
        await w.close({ status: 'failed', error: err }).catch(() => undefined);
        throw err;
      }
    },
    async fail(err) {
      await w.close({ status: 'failed', error: err }).catch(() => undefined);
    },
  };
}

/**
 * Records a run that does not train through the store in one go: the parameters as its config,
 * `meta` (experiment name, results) in run.json, the given snapshots, closed as finished.
 */
export async function recordRun(dir: string, o: RecordOptions): Promise<void> {
  await (await startRun(dir, o)).finish();
}

/**
 * Writes a report page of an experiment's own figures into `dir`: report.html (inline SVGs and
 * a table of the key figures) and figures/<id>.svg. Returns the path of report.html.
 * @throws SpecdynError when vega or vega-lite is not installed (nothing is written then).
 */
export async function writeFigureReport(
  dir: string,
  o: { title: string; subtitle: string; facts: ExperimentResult['figures']; summary: string[]; figures: Figure[] },
  context?: Pick<ExperimentContext, 'progress'>,
): Promise<string> {
  const { writeFigures } = await import('../report/index.js');
  const { pageHtml, esc } = await import('../report/html.js');
  const page = await writeFigures(o.figures, dir, (done, total) => context?.progress(done, total, 'report figures'));
  const rows = Object.entries(o.facts)
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(typeof v === 'number' ? fmtNumber(v) : String(v))}</td></tr>`)
    .join('\n');
  const summary = `<ul>${o.summary.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>\n<table class="layers"><tr><th>figure</th><th>value</th></tr>\n${rows}\n</table>`;
  const html = pageHtml({
    title: o.title,
    subtitle: o.subtitle,
    summaries: [summary],
    figures: page,
    generated: new Date().toISOString(),
  });
  const path = join(dir, 'report.html');
  writeAtomic(path, html);
  return path;
}

/**
 * The end of an experiment with its own figures: writes the report page, adds its path to the
 * summary, writes result.json and returns the {@link ExperimentResult}.
 */
export async function finishWithReport(
  context: ExperimentContext,
  o: {
    experiment: string;
    params: Params;
    figures: ExperimentResult['figures'];
    summary: string[];
    pages: Figure[];
    data?: unknown;
  },
): Promise<ExperimentResult> {
  const report = await writeFigureReport(
    context.out,
    {
      title: `specdyn experiment: ${o.experiment}`,
      subtitle: `run directory ${context.out}`,
      facts: o.figures,
      summary: o.summary,
      figures: o.pages,
    },
    context,
  );
  const summary = [...o.summary, `report: ${report}`];
  writeResult(context.out, { experiment: o.experiment, params: o.params, figures: o.figures, summary, data: o.data });
  return { dir: context.out, report, figures: o.figures, summary };
}

function fmtNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toPrecision(4);
}

/** The trainer's hooks on an experiment context: narration to `log`, one progress per label. */
export function trainHooks(context: ExperimentContext): TrainHooks {
  return {
    info: (line) => context.log(line),
    warn: (line) => context.log(`warning: ${line}`),
    progress: (label, total) => ({ update: (v) => context.progress(v, total, label), done: () => undefined }),
  };
}

/** Rejects with AbortError when the context's signal has aborted. */
export function throwIfAborted(context: ExperimentContext): void {
  if (context.signal.aborted) throw new AbortError('The experiment was interrupted');
}

/**
 * A comma-separated list of positive integers (`'256,256'`) of parameter `name`.
 * @throws ParamError naming the parameter and the value.
 */
export function parseIntList(value: unknown, name: string): number[] {
  const parts = typeof value === 'string' ? value.split(',').map((s) => (s.trim() === '' ? NaN : Number(s))) : [NaN];
  if (!parts.every((x) => Number.isInteger(x) && x >= 1))
    throw new ParamError(expected('a comma-separated list of integers ≥ 1', name, value));
  return parts;
}

/**
 * A comma-separated list of positive numbers (`'0.01,0.1,1'`) of parameter `name`.
 * @throws ParamError naming the parameter and the value.
 */
export function parseNumberList(value: unknown, name: string): number[] {
  const parts = typeof value === 'string' ? value.split(',').map((s) => (s.trim() === '' ? NaN : Number(s))) : [NaN];
  if (!parts.every((x) => Number.isFinite(x) && x > 0))
    throw new ParamError(expected('a comma-separated list of numbers > 0', name, value));
  return parts;
}
