/**
 * The self-contained report page: inline styles and inline SVG, nothing fetched. Summary figures
 * carry `data-key` attributes so tools (and the tests) can read them back from the page.
 */
import { detachmentSteps } from './figures.js';
import type { ReportRun } from './model.js';

/** HTML-escapes text for element content and attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A number for people: integers as they are, others to 4 significant digits; NaN as "–". */
export function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3 ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}

/** Run time as "1 h 2 min", "3 min 4 s" or "5.2 s". */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60),
    s = Math.round(seconds % 60);
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Distinct snapshot steps of a run (weight and OMD rows together). */
export function snapshotSteps(run: ReportRun): number[] {
  const steps = new Set<number>();
  for (const l of run.weights) for (const r of l.rows) steps.add(r.step);
  for (const l of run.omd) for (const r of l.rows) steps.add(r.step);
  return [...steps].sort((a, b) => a - b);
}

const kv = (key: string, label: string, value: string) =>
  `<div class="kv"><span class="k">${esc(label)}</span><span class="v" data-key="${esc(key)}">${esc(value)}</span></div>`;

/** The summary block of one run: facts, per-layer spikes and first detachment, OMD regimes. */
export function summaryHtml(run: ReportRun): string {
  const finished = run.status === 'finished';
  const parts: string[] = [];
  if (!finished) {
    parts.push(
      `<p class="unfinished" data-key="status">This run is unfinished (status: ${esc(run.status)}): the figures show the snapshots written so far.</p>`,
    );
  }
  const snaps = snapshotSteps(run);
  parts.push('<div class="facts">');
  parts.push(kv('status-value', 'status', run.status));
  parts.push(kv('backend', 'backend', run.backend ?? '–'));
  parts.push(kv('duration', 'run time', duration(run.durationSeconds)));
  parts.push(kv('snapshots', 'snapshots', String(snaps.length)));
  if (snaps.length > 0) parts.push(kv('last-step', 'last snapshot step', String(snaps[snaps.length - 1])));
  if (run.startedAt) parts.push(kv('started', 'started', run.startedAt));
  for (const [k, v] of Object.entries(run.facts ?? {})) parts.push(kv(`fact:${k}`, k, String(v)));
  parts.push('</div>');
  if (run.weights.length > 0) {
    parts.push(
      '<h3>Weight layers (final snapshot)</h3><table class="layers"><thead><tr><th>layer</th><th>shape (N × M)</th><th>step</th><th>λ_max</th><th>λ₊ (bulk edge)</th><th>spikes</th><th>first detachment step</th><th>α</th><th>stable rank</th><th>MP soft rank</th><th>gap ratio</th><th>warning</th></tr></thead><tbody>',
    );
    for (const l of run.weights) {
      const rows = [...l.rows].sort((a, b) => a.step - b.step);
      const last = rows[rows.length - 1];
      if (!last) continue;
      const first = detachmentSteps(l)[0];
      const key = (k: string) => `${k}:${l.layer}`;
      const shape = l.shape ? `${l.shape[0]} × ${l.shape[1]}` : '–';
      const warning =
        typeof (last as Record<string, unknown>).warning === 'string'
          ? String((last as Record<string, unknown>).warning)
          : '';
      parts.push(
        `<tr><td>${esc(l.layer)}</td><td>${esc(shape)}</td><td data-key="${esc(key('step'))}">${last.step}</td>` +
          `<td data-key="${esc(key('lambda_max'))}">${fmt(last.lambda_max)}</td><td>${fmt(last.bulk_max)}</td>` +
          `<td data-key="${esc(key('num_spikes'))}">${fmt(last.num_spikes)}</td><td data-key="${esc(key('first_detachment'))}">${first ? first.step : 'none'}</td>` +
          `<td data-key="${esc(key('alpha'))}">${fmt(last.alpha)}</td><td>${fmt(last.stable_rank)}</td><td>${fmt(last.mp_softrank)}</td><td>${fmt(last.gap_ratio)}</td><td>${esc(warning)}</td></tr>`,
      );
    }
    parts.push('</tbody></table>');
  }
  if (run.omd.length > 0) {
    parts.push(
      '<h3>OMD layers</h3><table class="layers"><thead><tr><th>layer</th><th>snapshots</th><th>verdict</th><th>regime windows</th></tr></thead><tbody>',
    );
    for (const l of run.omd) {
      const windows = (l.regimes?.windows ?? [])
        .map((w) => `${w.label} steps ${w.startStep}–${w.endStep} (m̂ = ${w.bandSize}, ${w.fingerprint})`)
        .join('; ');
      parts.push(
        `<tr><td>${esc(l.layer)}</td><td>${l.rows.length}</td><td data-key="verdict:${esc(l.layer)}">${esc(l.regimes?.verdict ?? '–')}</td><td>${esc(windows || '–')}</td></tr>`,
      );
    }
    parts.push('</tbody></table>');
  }
  return parts.join('\n');
}

const STYLE = `
body { font-family: Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1200px; color: #111; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05rem; } .sub { color: #555; margin-top: 0; }
.unfinished { background: #fff3cd; border: 1px solid #e0b000; padding: 0.6rem 0.8rem; font-weight: bold; }
.facts { display: flex; flex-wrap: wrap; gap: 0.4rem 1.6rem; margin: 0.6rem 0; }
.kv .k { color: #555; margin-right: 0.4rem; } .kv .v { font-weight: bold; }
table.layers { border-collapse: collapse; font-size: 0.9rem; margin: 0.4rem 0 1rem; }
table.layers th, table.layers td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
table.layers td:first-child, table.layers th:first-child { text-align: left; }
figure.fig { margin: 1.2rem 0; } figure.fig svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #444; font-size: 0.9rem; max-width: 900px; margin-top: 0.3rem; }
nav a { margin-right: 0.8rem; font-size: 0.9rem; }
`;

/** One figure for the page: its id, title, caption, inline SVG and the relative path of its SVG file. */
export interface PageFigure {
  id: string;
  title: string;
  caption: string;
  svg: string;
  file: string;
}

/** The whole page. `refreshSeconds` adds a self-refresh (watch mode). */
export function pageHtml(opts: {
  title: string;
  subtitle: string;
  summaries: string[];
  figures: PageFigure[];
  refreshSeconds?: number;
  generated: string;
}): string {
  const nav = opts.figures.map((f) => `<a href="#fig-${esc(f.id)}">${esc(f.title)}</a>`).join('');
  const figs = opts.figures
    .map(
      (f) =>
        `<figure class="fig" id="fig-${esc(f.id)}" data-figure="${esc(f.id)}">\n${f.svg}\n<figcaption>${esc(f.caption)} <a href="${esc(f.file)}">SVG</a></figcaption></figure>`,
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${opts.refreshSeconds ? `<meta http-equiv="refresh" content="${opts.refreshSeconds}">\n` : ''}<title>${esc(opts.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${esc(opts.title)}</h1>
<p class="sub">${esc(opts.subtitle)} · generated ${esc(opts.generated)}</p>
<section id="summary">
<h2>Summary</h2>
${opts.summaries.join('\n')}
</section>
<nav>${nav}</nav>
<section id="figures">
<h2>Figures</h2>
${figs}
</section>
</body>
</html>
`;
}
