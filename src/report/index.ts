/**
 * specdyn's HTML report: figures of one run (or headline overlays of several) as Vega-Lite specs,
 * rendered to SVG in Node, written as one self-contained `report.html` (inline SVG and styles,
 * nothing fetched) plus one SVG file per figure under `figures/`.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { overlayFigures, runFigures, type Figure } from './figures.js';
import { pageHtml, summaryHtml, type PageFigure } from './html.js';
import type { ReportRun } from './model.js';
import { loadVega, prefixSvgIds, renderSvg } from './render.js';

export type { ReportRun, WeightLayer, WeightRow, OmdLayer, OmdRow } from './model.js';
export type { Figure } from './figures.js';
export { runFigures, overlayFigures, detachmentSteps, PALETTE } from './figures.js';
export { renderSvg } from './render.js';
export { snapshotSteps } from './html.js';

/** Options of {@link writeReport}. */
export interface ReportOptions {
  /** Output directory (report.html and figures/); default: the run's directory for one run. Required for several runs. */
  outDir?: string;
  /** Make the page reload itself every this many seconds (watch mode). Default: no refresh. */
  refreshSeconds?: number;
  /** Called after each figure is rendered (done, total, figure id): progress bars. */
  onFigure?: (done: number, total: number, id: string) => void;
}

/** What {@link writeReport} wrote. */
export interface ReportResult {
  /** Path of report.html. */
  html: string;
  /** The figures, in page order, with the path of each SVG file. */
  figures: { id: string; title: string; file: string }[];
  /** Wall time of the build, seconds. */
  seconds: number;
}

/** Writes a file through a temporary name and a rename, so a reader (a refreshing browser) never sees half a page. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * Renders figures to `<outDir>/figures/<id>.svg` (each written atomically) and returns them as
 * page figures for {@link pageHtml}, their SVG ids prefixed so that several inline on one page.
 * Every page specdyn writes (run reports, experiment pages, sweep reports) goes through here.
 * @throws SpecdynError when vega or vega-lite is not installed (nothing is written then).
 */
export async function writeFigures(
  figures: readonly Pick<Figure, 'id' | 'title' | 'caption' | 'spec'>[],
  outDir: string,
  onFigure?: (done: number, total: number, id: string) => void,
): Promise<PageFigure[]> {
  await loadVega();
  mkdirSync(join(outDir, 'figures'), { recursive: true });
  const page: PageFigure[] = [];
  for (const [i, f] of figures.entries()) {
    const svg = await renderSvg(f.spec, f.id);
    const file = `figures/${f.id}.svg`;
    writeAtomic(join(outDir, file), svg);
    page.push({
      id: f.id,
      title: f.title,
      caption: f.caption,
      file,
      svg: prefixSvgIds(svg.replace(/^<\?xml[^>]*>\s*/, ''), `f${i}-`),
    });
    onFigure?.(i + 1, figures.length, f.id);
  }
  return page;
}

/**
 * Builds the report of one run (all applicable figures) or of several (headline overlays plus each
 * run's summary) and writes it.
 * @throws RangeError when no run is given, or several are given without `outDir`.
 * @throws SpecdynError when vega or vega-lite (optional peer dependencies) is not installed;
 * nothing is written then.
 */
export async function writeReport(runs: ReportRun[], options: ReportOptions = {}): Promise<ReportResult> {
  const t0 = performance.now();
  if (runs.length === 0) throw new RangeError('Expected at least one run for runs but received none');
  const outDir = options.outDir ?? (runs.length === 1 ? runs[0]!.dir : undefined);
  if (outDir === undefined)
    throw new RangeError('Expected an output directory for outDir (several runs) but received undefined');
  await loadVega(); // before anything is written
  const figures: Figure[] = runs.length === 1 ? runFigures(runs[0]!) : overlayFigures(runs);
  const page = await writeFigures(figures, outDir, options.onFigure);
  const single = runs.length === 1 ? runs[0]! : undefined;
  const title = single ? `specdyn report: ${single.name}` : `specdyn report: ${runs.length} runs`;
  const subtitle = single ? `run directory ${single.dir}` : runs.map((r) => r.name).join(', ');
  const summaries = runs.map((r) => (single ? summaryHtml(r) : `<h3>${escapeName(r.name)}</h3>\n${summaryHtml(r)}`));
  const html = pageHtml({
    title,
    subtitle,
    summaries,
    figures: page,
    refreshSeconds: options.refreshSeconds,
    generated: new Date().toISOString(),
  });
  const htmlPath = join(outDir, 'report.html');
  writeAtomic(htmlPath, html);
  return {
    html: htmlPath,
    figures: page.map((f) => ({ id: f.id, title: f.title, file: join(outDir, f.file) })),
    seconds: (performance.now() - t0) / 1000,
  };
}

function escapeName(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
