/**
 * `sweep collect`: the complete cells of a sweep root merged into one table, one row per cell in
 * the sweep's order (columns: index, key, every parameter, every figure), written as Arrow IPC
 * (`sweep.arrow`, read by pandas.read_feather / polars.read_ipc) and CSV (`sweep.csv`), plus one
 * report (`report.html`: a heatmap per figure over the first two axes). A sweep with missing or
 * failed cells is not called complete: collect refuses, listing them, unless asked for a partial
 * table, which then says it is partial.
 *
 * The table holds only what the cells computed (no times, hosts or pids), so the same sweep gives
 * the same table however it was run: locally, as array-job shards or through the queue.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SpecdynError } from '../errors.js';
import { loadArrow } from '../store/arrow.js';
import { writeFileAtomic } from '../store/atomic.js';
import { type CellRecord, readCell, readFailure, readManifest } from './cells.js';

/** A table value. */
export type TableValue = number | string | boolean | null;

/** A column of the merged table: its name, its kind (from its values) and the values by row. */
export interface TableColumn {
  name: string;
  kind: 'float64' | 'utf8' | 'bool';
  values: TableValue[];
}

/** The merged table. */
export interface SweepTable {
  columns: TableColumn[];
  rows: number;
}

/** A missing or failed cell. */
export interface MissingCell {
  index: number;
  key: string;
  /** The last failure's message when the cell failed; absent when it never ran (or is running). */
  error?: string;
}

/** What {@link collectSweep} found and wrote. */
export interface CollectResult {
  root: string;
  experiment: string;
  total: number;
  complete: number;
  /** True when every cell is complete. */
  finished: boolean;
  missing: MissingCell[];
  failed: MissingCell[];
  /** Files written (absent when collect refused). */
  arrow?: string;
  csv?: string;
  report?: string;
}

/** Thrown by {@link collectSweep} for a partial sweep without `partial: true`; carries the lists. */
export class IncompleteSweepError extends SpecdynError {
  readonly result: CollectResult;
  constructor(result: CollectResult) {
    const list = (cells: MissingCell[], what: string) =>
      cells.length === 0
        ? ''
        : `\n${what} (${cells.length}):\n${cells
            .slice(0, 20)
            .map((c) => `  ${c.index} ${c.key}${c.error ? `: ${c.error}` : ''}`)
            .join('\n')}${cells.length > 20 ? `\n  … and ${cells.length - 20} more` : ''}`;
    super(
      `Expected a complete sweep for ${result.root} but ${result.complete} of ${result.total} cells are complete ` +
        `(${result.missing.length} missing, ${result.failed.length} failed); run the missing cells again, or collect with --partial` +
        list(result.failed, 'failed') +
        list(result.missing, 'missing'),
    );
    this.result = result;
  }
}

/** The merged table of complete cell records, in the manifest's order. */
export function sweepTable(records: CellRecord[]): SweepTable {
  const paramKeys: string[] = [];
  const figureKeys: string[] = [];
  for (const r of records) {
    for (const k of Object.keys(r.params)) if (!paramKeys.includes(k)) paramKeys.push(k);
    for (const k of Object.keys(r.figures)) if (!figureKeys.includes(k)) figureKeys.push(k);
  }
  const cols: [string, (r: CellRecord) => TableValue][] = [
    ['index', (r) => r.index],
    ['key', (r) => r.key],
    ...paramKeys.map((k): [string, (r: CellRecord) => TableValue] => [k, (r) => r.params[k] ?? null]),
    ...figureKeys
      .filter((k) => !paramKeys.includes(k))
      .map((k): [string, (r: CellRecord) => TableValue] => [k, (r) => r.figures[k] ?? null]),
  ];
  const columns = cols.map(([name, get]): TableColumn => {
    let values = records.map(get);
    const kinds = new Set(values.filter((v) => v !== null).map((v) => typeof v));
    const kind: TableColumn['kind'] =
      kinds.size === 1 && kinds.has('number') ? 'float64' : kinds.size === 1 && kinds.has('boolean') ? 'bool' : 'utf8';
    if (kind === 'utf8' && kinds.size > 1) values = values.map((v) => (v === null ? null : String(v)));
    return { name, kind, values };
  });
  return { columns, rows: records.length };
}

/** The table as CSV (RFC 4180 quoting; numbers in shortest round-trip form; null as an empty field). */
export function tableCsv(table: SweepTable): string {
  const field = (v: TableValue): string => {
    if (v === null) return '';
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [table.columns.map((c) => field(c.name)).join(',')];
  for (let i = 0; i < table.rows; i++) lines.push(table.columns.map((c) => field(c.values[i]!)).join(','));
  return lines.join('\n') + '\n';
}

/** The table as an Arrow IPC file (apache-arrow, the run store's optional peer). */
export async function tableArrow(table: SweepTable): Promise<Uint8Array> {
  await loadArrow();
  const arrow = await import('apache-arrow');
  const vectors: Record<string, import('apache-arrow').Vector> = {};
  for (const c of table.columns) {
    const type = c.kind === 'float64' ? new arrow.Float64() : c.kind === 'bool' ? new arrow.Bool() : new arrow.Utf8();
    vectors[c.name] = arrow.vectorFromArray(c.values as never[], type as never);
  }
  return arrow.tableToIPC(new arrow.Table(vectors), 'file');
}

/** Options of {@link collectSweep}. */
export interface CollectOptions {
  /** Where the table and report go (default: the root). */
  out?: string;
  /** Write the table of the complete cells even when some are missing or failed (marked partial). */
  partial?: boolean;
  /** Skip the report (vega, vega-lite not needed then). */
  report?: boolean;
}

/**
 * Collects a sweep root (see the module doc).
 * @throws IncompleteSweepError listing the missing and failed cells when the sweep is partial
 *   and `partial` is not set (nothing is written then); SpecdynError when `root` is no sweep root.
 */
export async function collectSweep(root: string, options: CollectOptions = {}): Promise<CollectResult> {
  const manifest = readManifest(root);
  const records: CellRecord[] = [];
  const missing: MissingCell[] = [];
  const failed: MissingCell[] = [];
  for (const cell of manifest.cells) {
    const r = readCell(root, cell.key);
    if (r) {
      records.push(r);
      continue;
    }
    const f = readFailure(root, cell.key);
    if (f) failed.push({ index: cell.index, key: cell.key, error: f.error });
    else missing.push({ index: cell.index, key: cell.key });
  }
  const result: CollectResult = {
    root,
    experiment: manifest.spec.experiment,
    total: manifest.cells.length,
    complete: records.length,
    finished: records.length === manifest.cells.length,
    missing,
    failed,
  };
  if (!result.finished && !options.partial) throw new IncompleteSweepError(result);
  const out = options.out ?? root;
  const table = sweepTable(records);
  fs.mkdirSync(out, { recursive: true });
  result.arrow = path.join(out, 'sweep.arrow');
  result.csv = path.join(out, 'sweep.csv');
  writeFileAtomic(result.csv, tableCsv(table));
  writeFileAtomic(result.arrow, await tableArrow(table));
  if (options.report !== false) {
    const { writeSweepReport } = await import('./report.js');
    result.report = await writeSweepReport(manifest, table, result, out);
  }
  return result;
}
