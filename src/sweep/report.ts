/**
 * The report of a collected sweep: one heatmap per figure over the sweep's first two axes
 * (x: the first axis, y: the second; one row when there is one axis), the cells of the other
 * axes (seeds, ...) pooled: numbers by their mean, labels (a phase) by their most frequent value.
 * Written with the report's renderer (Vega-Lite → SVG) into one self-contained report.html.
 */
import path from 'node:path';
import { CONFIG } from '../report/figures.js';
import { esc, pageHtml } from '../report/html.js';
import { writeFigures } from '../report/index.js';
import { writeFileAtomic } from '../store/atomic.js';
import type { SweepManifest } from './cells.js';
import type { CollectResult, SweepTable, TableValue } from './collect.js';

/** Heatmap specs (id, title, caption, Vega-Lite) of a table's figure columns over the first two axes. */
export function heatmapSpecs(manifest: SweepManifest, table: SweepTable) {
  const col = (name: string) => table.columns.find((c) => c.name === name);
  const [xKey, yKey] = manifest.axes;
  const x = xKey ? col(xKey) : undefined;
  if (!x) return [];
  const y = yKey ? col(yKey) : undefined;
  const paramNames = new Set(Object.keys(manifest.cells[0]?.params ?? {}));
  const figures = table.columns.filter(
    (c) => c.name !== 'index' && c.name !== 'key' && !paramNames.has(c.name) && new Set(c.values.map(String)).size > 1,
  );
  return figures.map((f) => {
    const groups = new Map<string, { x: TableValue; y: TableValue; values: TableValue[] }>();
    for (let i = 0; i < table.rows; i++) {
      const gx = x.values[i]!,
        gy = y ? y.values[i]! : '';
      const id = JSON.stringify([gx, gy]);
      let g = groups.get(id);
      if (!g) {
        g = { x: gx, y: gy, values: [] };
        groups.set(id, g);
      }
      g.values.push(f.values[i]!);
    }
    const numeric = f.kind === 'float64';
    const values = [...groups.values()].map((g) => {
      const present = g.values.filter((v) => v !== null);
      let value: TableValue = null;
      if (numeric && present.length > 0) value = (present as number[]).reduce((a, b) => a + b, 0) / present.length;
      else if (present.length > 0) {
        const counts = new Map<string, number>();
        for (const v of present) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
        value = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
      }
      return { x: g.x, y: g.y, value, n: present.length };
    });
    const axis = (key: string | undefined) => ({
      type: 'ordinal',
      sort: 'ascending',
      title: key ?? '',
      axis: {
        labelExpr: "isNumber(datum.value) ? format(datum.value, '.3~g') : datum.value",
        labelAngle: 0,
        grid: false,
      },
    });
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config: CONFIG,
      title: { text: f.name, subtitle: `${numeric ? 'mean' : 'most frequent value'} over the other axes` },
      data: { values },
      width: { step: 34 },
      height: y ? { step: 26 } : 30,
      mark: { type: 'rect', tooltip: true },
      encoding: {
        x: { field: 'x', ...axis(xKey) },
        ...(y ? { y: { field: 'y', ...axis(yKey), sort: 'descending' } } : {}),
        color: numeric
          ? { field: 'value', type: 'quantitative', title: f.name, scale: { scheme: 'viridis' } }
          : { field: 'value', type: 'nominal', title: f.name },
      },
    };
    return {
      id: f.name.replace(/[^A-Za-z0-9_-]/g, '-'),
      title: f.name,
      caption: `${f.name} per cell over ${xKey}${y ? ` × ${yKey}` : ''} (${numeric ? 'mean' : 'most frequent value'} over the other axes).`,
      spec,
    };
  });
}

/**
 * Writes report.html (and figures/*.svg) of a collected sweep into `out`; returns its path.
 * @throws SpecdynError when vega or vega-lite is not installed (nothing written then).
 */
export async function writeSweepReport(
  manifest: SweepManifest,
  table: SweepTable,
  result: CollectResult,
  out: string,
): Promise<string> {
  const page = await writeFigures(heatmapSpecs(manifest, table), out);
  const status = result.finished
    ? `<p data-key="status">complete: all ${result.total} cells</p>`
    : `<p class="unfinished" data-key="status">PARTIAL: ${result.complete} of ${result.total} cells complete (${result.missing.length} missing, ${result.failed.length} failed); the figures show the complete cells only.</p>`;
  const failedList = result.failed.length
    ? `<h3>Failed cells</h3><ul>${result.failed.map((c) => `<li>${c.index} ${esc(c.key)}: ${esc(c.error ?? '')}</li>`).join('')}</ul>`
    : '';
  const html = pageHtml({
    title: `specdyn sweep: ${manifest.spec.experiment}`,
    subtitle: `sweep root ${result.root}; axes ${manifest.axes.join(' × ')}`,
    summaries: [status + failedList],
    figures: page,
    generated: new Date().toISOString(),
  });
  const file = path.join(out, 'report.html');
  writeFileAtomic(file, html);
  return file;
}
