/**
 * The report's figures as Vega-Lite specs built from {@link ReportRun} data. Each builder returns
 * null when its figure does not apply to the run (no data), so no figure is ever drawn empty.
 *
 * Colours: the Okabe–Ito palette (distinguishable with the common colour-vision deficiencies),
 * and series that share a chart also differ by stroke dash or point shape, so the figures read in
 * greyscale too.
 */
import { GAP_RATIO, levelSpacings, marchenkoPastur } from '../rmt/index.js';
import type { OmdLayer, ReportRun, WeightLayer } from './model.js';

/** A figure: a stable id (file name), its title, a one-line reading guide and the Vega-Lite spec. */
export interface Figure {
  id: string;
  title: string;
  caption: string;
  spec: Record<string, unknown>;
}

/** Okabe–Ito colours (black last: reference lines use it). */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];
const DASHES = [
  [1, 0],
  [6, 3],
  [2, 2],
  [8, 3, 2, 3],
  [1, 3],
  [10, 2],
];
/** Ten label colours for MDS clouds: Okabe–Ito plus two greys (shapes tell them apart as well). */
const LABEL_COLOURS = [...PALETTE.slice(0, 7), '#000000', '#999999', '#5c3a00'];

const WIDTH = 520;
/** Markers on lines only up to this many points per series (more is clutter and SVG weight). */
const MAX_MARKED = 60;
const marked = (values: unknown[], series: number) => values.length / Math.max(1, series) <= MAX_MARKED;
const HEIGHT = 240;

/** Vega-Lite config shared by every figure. */
export const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  background: 'white',
  range: { category: PALETTE },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'right', labelLimit: 320 },
  title: { fontSize: 14, anchor: 'start', offset: 8 },
  view: { stroke: '#cccccc' },
  line: { strokeWidth: 1.8 },
};

/** NaN and ±Infinity are not JSON and not plottable: they become null (a gap in a line). */
function num(x: number | undefined): number | null {
  return x === undefined || !Number.isFinite(x) ? null : x;
}

function top(spec: Record<string, unknown>, title: string, subtitle?: string): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    title: subtitle ? { text: title, subtitle } : title,
    ...spec,
  };
}

const dashScale = (domain: string[]) => ({ domain, range: domain.map((_, i) => DASHES[i % DASHES.length]) });

/**
 * Panels stacked vertically over one long-format data set ({ step, quantity, value, ... }), one
 * panel per quantity with its own y title (units), sharing the x axis and the legend.
 */
function stacked(
  values: Record<string, unknown>[],
  panels: { quantity: string; ytitle: string; zero?: boolean; integer?: boolean }[],
  mark: Record<string, unknown>,
  encoding: Record<string, unknown>,
): Record<string, unknown> {
  return {
    data: { values },
    vconcat: panels.map((p, i) => ({
      width: WIDTH,
      height: 140,
      transform: [{ filter: { field: 'quantity', equal: p.quantity } }],
      mark,
      encoding: {
        x: { field: 'step', type: 'quantitative', title: i === panels.length - 1 ? 'training step' : null },
        y: {
          field: 'value',
          type: 'quantitative',
          title: p.ytitle,
          scale: { zero: p.zero ?? false },
          ...(p.integer ? { axis: { format: 'd', tickMinStep: 1 } } : {}),
        },
        ...encoding,
      },
    })),
    resolve: { scale: { x: 'shared', color: 'shared', strokeDash: 'shared' } },
  };
}

/** Steps at which the ESD is drawn: initialisation, middle and end of the spectra kept. */
export function chosenSteps(steps: number[]): number[] {
  if (steps.length === 0) return [];
  const sorted = [...steps].sort((a, b) => a - b);
  const pick = [sorted[0]!, sorted[Math.floor((sorted.length - 1) / 2)]!, sorted[sorted.length - 1]!];
  return [...new Set(pick)];
}

/** Loss and metrics against step, one panel per quantity (independent y scales). */
export function trainingCurves(run: ReportRun): Figure | null {
  // One panel per quantity; `val_<q>` (the held-out probes) drawn with `<q>` (training batches).
  const values: { step: number; quantity: string; split: string; value: number | null }[] = [];
  for (const row of run.training) {
    for (const [k, v] of Object.entries(row)) {
      if (k === 'step' || typeof v !== 'number' || !Number.isFinite(v)) continue;
      const val = k.startsWith('val_');
      values.push({
        step: row.step,
        quantity: val ? k.slice(4) : k,
        split: val ? 'held-out probes' : 'training batch',
        value: v,
      });
    }
  }
  if (values.length === 0) return null;
  const quantities = [...new Set(values.map((v) => v.quantity))];
  const splits = ['training batch', 'held-out probes'];
  return {
    id: 'training-curves',
    title: 'Training curves',
    caption:
      'Loss and metrics against step: on the last training batch before each snapshot (solid) and on the held-out probe set at each snapshot (dashed).',
    spec: top(
      stacked(
        values,
        quantities.map((q) => ({
          quantity: q,
          ytitle: /loss/.test(q) ? `${q} (nats)` : /acc/.test(q) ? `${q} (fraction)` : q,
        })),
        { type: 'line', point: marked(values, quantities.length * 2) ? { size: 18 } : false },
        {
          color: {
            field: 'split',
            type: 'nominal',
            title: 'measured on',
            sort: splits,
            scale: { domain: splits, range: [PALETTE[0], PALETTE[3]] },
          },
          strokeDash: { field: 'split', type: 'nominal', title: 'measured on', sort: splits, scale: dashScale(splits) },
        },
      ),
      'Training curves',
      'loss and metrics against step',
    ),
  };
}

/**
 * Empirical spectral density of W Wᵀ at initialisation, middle and end, with the fitted MP
 * density, its edges (dashed rules) and the spikes (orange ticks above the edge).
 */
export function esdFigure(layer: WeightLayer): Figure | null {
  const steps = chosenSteps(layer.spectra.map((s) => s.step));
  if (steps.length === 0) return null;
  const panels: Record<string, unknown>[] = [];
  for (const step of steps) {
    const spec = layer.spectra.find((s) => s.step === step)!;
    const row = layer.rows.find((r) => r.step === step);
    const evals = Array.from(spec.evals).filter((x) => Number.isFinite(x) && x > 0);
    if (evals.length < 2) continue;
    const hi = Math.max(...evals);
    const edge = row && Number.isFinite(row.bulk_max) ? row.bulk_max : hi;
    // Bins over the bulk (plus a margin), so spikes far out do not squash the bulk into one bin.
    const range = Math.max(edge * 1.25, Math.min(hi, edge * 1.25));
    const bins = Math.max(10, Math.min(60, Math.round(Math.sqrt(evals.length) * 2)));
    const width = range / bins;
    const counts = new Array<number>(bins).fill(0);
    for (const x of evals) if (x <= range) counts[Math.min(bins - 1, Math.floor(x / width))]!++;
    const hist = counts.map((c, b) => ({ lo: b * width, hi: (b + 1) * width, density: c / (evals.length * width) }));
    const curve: { x: number; density: number }[] = [];
    if (row && Number.isFinite(row.variance_mp) && row.variance_mp > 0 && Number.isFinite(row.ratio) && row.ratio > 0) {
      const r = row.ratio <= 1 ? row.ratio : 1 / row.ratio;
      const mp = marchenkoPastur({
        ratio: r,
        variance: row.ratio <= 1 ? row.variance_mp : row.variance_mp * row.ratio,
      });
      // The nonzero eigenvalues of W Wᵀ and Wᵀ W coincide: draw the law of the min(N, M) of them.
      for (let i = 0; i <= 200; i++) {
        const x = mp.lower + ((mp.upper - mp.lower) * i) / 200;
        if (x <= range) curve.push({ x, density: mp.pdf(x) });
      }
    }
    const spikes = evals
      .filter((x) => row && Number.isFinite(row.bulk_max) && x > row.bulk_max)
      .slice(-Math.max(0, row?.num_spikes ?? 0));
    const layers: Record<string, unknown>[] = [
      {
        data: { values: hist },
        mark: { type: 'rect', color: '#9ecae1', stroke: '#4a7fa8', strokeWidth: 0.3 },
        encoding: {
          x: {
            field: 'lo',
            type: 'quantitative',
            title: 'eigenvalue λ of W Wᵀ',
            scale: { domain: [0, range], nice: false },
          },
          x2: { field: 'hi' },
          y: { field: 'density', type: 'quantitative', title: 'density (per unit λ)' },
          y2: { datum: 0 },
        },
      },
    ];
    if (curve.length > 0) {
      layers.push({
        data: { values: curve.map((c) => ({ ...c, series: 'fitted MP density' })) },
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { field: 'density', type: 'quantitative' },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: {
              domain: ['fitted MP density', 'bulk edges λ±', 'spikes'],
              range: ['#000000', '#555555', '#D55E00'],
            },
          },
        },
      });
    }
    if (row && Number.isFinite(row.bulk_max)) {
      const edges = [row.bulk_min, row.bulk_max]
        .filter((x) => Number.isFinite(x) && x <= range)
        .map((x) => ({ x, series: 'bulk edges λ±' }));
      layers.push({
        data: { values: edges },
        mark: { type: 'rule', strokeDash: [4, 3], strokeWidth: 1.5 },
        encoding: { x: { field: 'x', type: 'quantitative' }, color: { field: 'series', type: 'nominal' } },
      });
    }
    if (spikes.length > 0) {
      const shown = spikes.map((x) => ({ x: Math.min(x, range), value: x, series: 'spikes' }));
      layers.push({
        data: { values: shown },
        mark: { type: 'tick', thickness: 3, size: 30, orient: 'vertical' },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { datum: 0 },
          color: { field: 'series', type: 'nominal' },
          tooltip: [{ field: 'value', title: 'λ' }],
        },
      });
    }
    const beyond = spikes.filter((x) => x > range).length;
    panels.push({
      title: {
        text: `step ${step}`,
        subtitle: beyond > 0 ? `${beyond} spike(s) beyond the axis, drawn at its end` : `${spikes.length} spike(s)`,
        fontSize: 12,
      },
      width: 240,
      height: 180,
      layer: layers,
    });
  }
  if (panels.length === 0) return null;
  return {
    id: `esd-${slug(layer.layer)}`,
    title: `Weight spectrum of ${layer.layer}`,
    caption:
      'Histogram of the eigenvalues of W Wᵀ at initialisation, middle and end, with the fitted Marchenko–Pastur density; dashed: bulk edges λ±; orange ticks: spikes above the edge.',
    spec: top(
      { hconcat: panels, resolve: { scale: { color: 'shared' } } },
      `Weight spectrum (ESD) of ${layer.layer}`,
      'eigenvalues of W Wᵀ with the fitted Marchenko–Pastur law',
    ),
  };
}

/** First step at which at least k spikes stand above the edge, for k = 1..max(num_spikes). */
export function detachmentSteps(layer: WeightLayer): { k: number; step: number }[] {
  const out: { k: number; step: number }[] = [];
  const rows = [...layer.rows].sort((a, b) => a.step - b.step);
  let reached = 0;
  for (const r of rows) {
    const n = Number.isFinite(r.num_spikes) ? r.num_spikes : 0;
    while (reached < n) out.push({ k: ++reached, step: r.step });
  }
  return out;
}

const TOP_K = 5;

/** Top eigenvalues of W Wᵀ against step, the MP bulk as a band, and each outlier's detachment step. */
export function topEigenvaluesFigure(layer: WeightLayer): Figure | null {
  const spectra = [...layer.spectra].sort((a, b) => a.step - b.step);
  if (spectra.length < 2) return null;
  const lines: { step: number; rank: string; lambda: number | null }[] = [];
  for (const s of spectra) {
    const n = s.evals.length;
    for (let k = 0; k < Math.min(TOP_K, n); k++)
      lines.push({ step: s.step, rank: `λ${k + 1}`, lambda: num(s.evals[n - 1 - k]) });
  }
  const band = layer.rows
    .filter((r) => Number.isFinite(r.bulk_max))
    .map((r) => ({ step: r.step, lo: num(r.bulk_min), hi: num(r.bulk_max) }));
  const detach = detachmentSteps(layer)
    .filter((d) => d.k <= TOP_K)
    .map((d) => {
      const s = spectra.find((x) => x.step === d.step);
      return {
        step: d.step,
        rank: `λ${d.k}`,
        lambda: s ? num(s.evals[s.evals.length - d.k]) : null,
        label: `λ${d.k} detaches at step ${d.step}`,
      };
    });
  const ranks = [...new Set(lines.map((l) => l.rank))];
  const layers: Record<string, unknown>[] = [];
  if (band.length > 0) {
    layers.push({
      data: { values: band.map((b) => ({ ...b, series: 'MP bulk [λ₋, λ₊]' })) },
      mark: { type: 'area', opacity: 0.25, color: '#999999' },
      encoding: {
        x: { field: 'step', type: 'quantitative' },
        y: { field: 'lo', type: 'quantitative' },
        y2: { field: 'hi' },
        fill: { field: 'series', type: 'nominal', title: null, scale: { range: ['#999999'] } },
      },
    });
  }
  layers.push({
    data: { values: lines },
    mark: { type: 'line' },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: 'lambda', type: 'quantitative', title: 'eigenvalue λ of W Wᵀ' },
      color: { field: 'rank', type: 'nominal', title: 'rank', sort: ranks },
      strokeDash: { field: 'rank', type: 'nominal', title: 'rank', sort: ranks, scale: dashScale(ranks) },
    },
  });
  if (detach.length > 0) {
    layers.push({
      data: { values: detach.map((d) => ({ ...d, marker: 'detachment' })) },
      mark: { type: 'point', shape: 'diamond', size: 90, filled: true, color: '#000000' },
      encoding: {
        x: { field: 'step', type: 'quantitative' },
        y: { field: 'lambda', type: 'quantitative' },
        shape: { field: 'marker', type: 'nominal', title: null },
        tooltip: [{ field: 'label' }],
      },
    });
  }
  return {
    id: `top-eigenvalues-${slug(layer.layer)}`,
    title: `Top eigenvalues of ${layer.layer}`,
    caption:
      'The five largest eigenvalues of W Wᵀ at each snapshot; grey band: the fitted MP bulk; black diamonds: the step at which the k-th outlier first stands above the edge (BBP detachment).',
    spec: top(
      { width: WIDTH, height: HEIGHT, layer: layers },
      `Top eigenvalues of W Wᵀ: ${layer.layer}`,
      'outliers detaching from the Marchenko–Pastur bulk',
    ),
  };
}

/** One stacked panel per quantity of the layers' rows against step, one line per layer (colour and dash). */
function perLayerPanels<R extends { step: number }>(
  layers: { layer: string; rows: R[] }[],
  panels: { quantity: string; ytitle: string; get: (r: R) => number; zero?: boolean; integer?: boolean }[],
  mark: Record<string, unknown>,
): {
  values: { step: number; layer: string; quantity: string; value: number | null }[];
  spec: Record<string, unknown>;
} {
  const values = layers.flatMap((l) =>
    l.rows.flatMap((r) =>
      panels.map((p) => ({ step: r.step, layer: l.layer, quantity: p.quantity, value: num(p.get(r)) })),
    ),
  );
  const names = layers.map((l) => l.layer);
  const spec = stacked(
    values,
    panels,
    { type: 'line', point: marked(values, panels.length * layers.length), ...mark },
    {
      color: { field: 'layer', type: 'nominal', title: 'layer', sort: names },
      strokeDash: { field: 'layer', type: 'nominal', title: 'layer', sort: names, scale: dashScale(names) },
    },
  );
  return { values, spec };
}

/** Number of spikes and the power-law α against step, one line per layer. */
export function spikesAlphaFigure(weights: WeightLayer[]): Figure | null {
  const { values, spec } = perLayerPanels(
    weights,
    [
      {
        quantity: 'number of spikes',
        ytitle: 'spikes above λ₊ (count)',
        get: (r) => r.num_spikes,
        zero: true,
        integer: true,
      },
      { quantity: 'power-law exponent α', ytitle: 'α (dimensionless)', get: (r) => r.alpha },
    ],
    {},
  );
  if (values.every((v) => v.value === null) || weights.every((l) => l.rows.length < 2)) return null;
  return {
    id: 'spikes-alpha',
    title: 'Spikes and α against step',
    caption:
      'Outliers above the MP edge (top) and the power-law tail exponent α of the ESD (bottom); α falls from large values (MP-like) towards 2–4 as heavy-tailed correlations form.',
    spec: top(spec, 'Spikes and power-law α against step', 'per weight layer'),
  };
}

/** Mean gap ratio of the bulk levels against step with the GOE and Poisson values. */
export function gapRatioFigure(weights: WeightLayer[]): Figure | null {
  const values: { step: number; series: string; value: number | null }[] = [];
  for (const l of weights)
    for (const r of l.rows)
      if (Number.isFinite(r.gap_ratio)) values.push({ step: r.step, series: `${l.layer} (W Wᵀ)`, value: r.gap_ratio });
  if (values.length === 0) return null;
  const series = [...new Set(values.map((v) => v.series))];
  const refs = [
    { ref: `GOE ${GAP_RATIO.goe.toFixed(4)}`, value: GAP_RATIO.goe },
    { ref: `Poisson ${GAP_RATIO.poisson.toFixed(4)}`, value: GAP_RATIO.poisson },
  ];
  return {
    id: 'gap-ratio',
    title: 'Gap ratio against step',
    caption: `Mean ratio of consecutive level spacings ⟨r⟩ of the bulk: near ${GAP_RATIO.goe.toFixed(4)} the levels repel (random-matrix bulk, GOE); near ${GAP_RATIO.poisson.toFixed(4)} they are uncorrelated (Poisson).`,
    spec: top(
      {
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            data: { values: refs },
            mark: { type: 'rule', strokeDash: [5, 4], color: '#555555' },
            encoding: { y: { field: 'value', type: 'quantitative', scale: { domain: [0.3, 0.65] } } },
          },
          {
            data: { values: refs },
            mark: { type: 'text', align: 'left', dx: 4, dy: -6, fontSize: 11, color: '#333333' },
            encoding: {
              text: { field: 'ref' },
              y: { field: 'value', type: 'quantitative' },
              x: { datum: Math.min(...values.map((v) => v.step)) },
            },
          },
          {
            data: { values },
            mark: { type: 'line', point: marked(values, series.length) },
            encoding: {
              x: { field: 'step', type: 'quantitative', title: 'training step' },
              y: {
                field: 'value',
                type: 'quantitative',
                title: 'mean gap ratio ⟨r⟩ (dimensionless)',
                scale: { domain: [0.3, 0.65] },
              },
              color: { field: 'series', type: 'nominal', title: 'spectrum', sort: series },
              strokeDash: {
                field: 'series',
                type: 'nominal',
                title: 'spectrum',
                sort: series,
                scale: dashScale(series),
              },
            },
          },
        ],
      },
      'Level statistics: gap ratio against step',
      'dashed: GOE and Poisson references',
    ),
  };
}

/** Spacing histogram of the final bulk levels (MP-unfolded) against the Wigner surmise and Poisson. */
export function spacingFigure(layer: WeightLayer): Figure | null {
  const spectra = [...layer.spectra].sort((a, b) => a.step - b.step);
  const last = spectra[spectra.length - 1];
  if (!last) return null;
  const row = layer.rows.find((r) => r.step === last.step);
  if (!row || !Number.isFinite(row.variance_mp) || !Number.isFinite(row.bulk_max)) return null;
  const bulk = Array.from(last.evals).filter((x) => x > 0 && x <= row.bulk_max);
  if (bulk.length < 30) return null;
  let ls: ReturnType<typeof levelSpacings>;
  try {
    const r = row.ratio <= 1 ? row.ratio : 1 / row.ratio;
    ls = levelSpacings(bulk, {
      by: 'mp',
      ratio: r,
      variance: row.ratio <= 1 ? row.variance_mp : row.variance_mp * row.ratio,
      bins: 24,
    });
  } catch {
    return null;
  }
  const hist = Array.from(ls.histogram.density, (d, b) => ({
    lo: ls.histogram.edges[b]!,
    hi: ls.histogram.edges[b + 1]!,
    density: d,
  }));
  const curves: { s: number; law: string; p: number }[] = [];
  for (let b = 0; b < ls.histogram.centres.length; b++) {
    curves.push({ s: ls.histogram.centres[b]!, law: 'Wigner surmise (GOE)', p: ls.reference.goe[b]! });
    curves.push({ s: ls.histogram.centres[b]!, law: 'Poisson', p: ls.reference.poisson[b]! });
  }
  const laws = ['Wigner surmise (GOE)', 'Poisson'];
  return {
    id: `spacings-${slug(layer.layer)}`,
    title: `Level spacings of ${layer.layer}`,
    caption: `Nearest-neighbour spacings of the bulk eigenvalues at step ${last.step}, unfolded by the fitted MP law (mean 1); KS distance to GOE ${ls.ks.goe.toFixed(3)}, to Poisson ${ls.ks.poisson.toFixed(3)}.`,
    spec: top(
      {
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            data: { values: hist },
            mark: { type: 'rect', color: '#9ecae1', stroke: '#4a7fa8', strokeWidth: 0.3 },
            encoding: {
              x: { field: 'lo', type: 'quantitative', title: 'unfolded spacing s (mean spacings)' },
              x2: { field: 'hi' },
              y: { field: 'density', type: 'quantitative', title: 'density p(s)' },
              y2: { datum: 0 },
            },
          },
          {
            data: { values: curves },
            mark: { type: 'line', strokeWidth: 2 },
            encoding: {
              x: { field: 's', type: 'quantitative' },
              y: { field: 'p', type: 'quantitative' },
              color: {
                field: 'law',
                type: 'nominal',
                title: 'reference',
                sort: laws,
                scale: { domain: laws, range: ['#000000', '#D55E00'] },
              },
              strokeDash: { field: 'law', type: 'nominal', title: 'reference', sort: laws, scale: dashScale(laws) },
            },
          },
        ],
      },
      `Level spacings of ${layer.layer} at step ${last.step}`,
      'against the Wigner surmise and Poisson',
    ),
  };
}

const RANKED_SHOWN = 8;
/** The OMD scatter shows at most this many snapshots (evenly spread; the bulk range keeps all). */
const MAX_SCATTER_STEPS = 100;

/** The OMD normalised spectrum λ/(N⟨d⟩) against step: Perron value, band members, the bulk's range. */
export function omdSpectrumFigure(layer: OmdLayer): Figure | null {
  const spectra = [...layer.spectra].sort((a, b) => a.step - b.step);
  if (spectra.length === 0) return null;
  const points: { step: number; value: number | null; role: string }[] = [];
  const bulk: { step: number; lo: number | null; hi: number | null }[] = [];
  const every = Math.ceil(spectra.length / MAX_SCATTER_STEPS);
  for (const [si, s] of spectra.entries()) {
    const v = s.normalized;
    const n = v.length;
    if (n < 2) continue;
    const row = layer.rows.find((r) => r.step === s.step);
    const m = row && Number.isFinite(row.bandSize) ? row.bandSize : 0;
    points.push({ step: s.step, value: num(v[n - 1]), role: 'Perron' });
    // Non-Perron values ranked by |λ| (descending); the first m̂ are the band.
    const rest = Array.from(v.subarray(0, n - 1)).sort((a, b) => Math.abs(b) - Math.abs(a));
    const shown = si % every === 0 || si === spectra.length - 1;
    if (shown) {
      for (const [k, x] of rest.slice(0, Math.max(m, RANKED_SHOWN)).entries()) {
        points.push({ step: s.step, value: num(x), role: k < m ? 'band' : 'bulk (top ranked)' });
      }
    }
    const others = rest.slice(m);
    if (others.length > 0) bulk.push({ step: s.step, lo: num(Math.min(...others)), hi: num(Math.max(...others)) });
  }
  if (points.length === 0) return null;
  const roles = ['band', 'bulk (top ranked)'];
  const x = {
    field: 'step',
    type: 'quantitative',
    title: 'training step',
    scale: { domain: [spectra[0]!.step, spectra[spectra.length - 1]!.step] },
  };
  return {
    id: `omd-spectrum-${slug(layer.layer)}`,
    title: `OMD spectrum of ${layer.layer}`,
    caption:
      'Eigenvalues of the probe distance matrix M(t) divided by N⟨d⟩. Top: the Perron value (≈ 1 − 1/N for near-constant rows). Bottom: the non-Perron values ranked by |λ|: the band (the m̂ largest when a clear gap follows them) and the bulk (grey: its full range).',
    spec: top(
      {
        vconcat: [
          {
            width: WIDTH,
            height: 70,
            data: { values: points.filter((p) => p.role === 'Perron') },
            mark: { type: 'line', point: marked(spectra, 1), color: '#000000' },
            encoding: {
              x: { ...x, title: null },
              y: { field: 'value', type: 'quantitative', title: 'Perron λ/(N⟨d⟩)', scale: { zero: false } },
            },
          },
          {
            width: WIDTH,
            height: HEIGHT,
            layer: [
              {
                data: { values: bulk.map((b) => ({ ...b, series: 'bulk range' })) },
                mark: { type: 'area', opacity: 0.2, color: '#999999' },
                encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
              },
              {
                data: { values: points.filter((p) => p.role !== 'Perron') },
                mark: { type: 'point', filled: true, size: 22 },
                encoding: {
                  x,
                  y: { field: 'value', type: 'quantitative', title: 'non-Perron λ / (N⟨d⟩) (normalised)' },
                  color: {
                    field: 'role',
                    type: 'nominal',
                    title: 'eigenvalue',
                    sort: roles,
                    scale: { domain: roles, range: ['#D55E00', '#56B4E9'] },
                  },
                  shape: {
                    field: 'role',
                    type: 'nominal',
                    title: 'eigenvalue',
                    sort: roles,
                    scale: { domain: roles, range: ['diamond', 'circle'] },
                  },
                },
              },
            ],
          },
        ],
      },
      `OMD normalised spectrum of ${layer.layer}`,
      'Perron value, band and bulk of the distance-matrix spectrum against step',
    ),
  };
}

/** Band size m̂(t) and subspace overlap O(t), per layer. */
export function bandFigure(omd: OmdLayer[]): Figure | null {
  const { values, spec } = perLayerPanels(
    omd,
    [
      {
        quantity: 'band size m̂',
        ytitle: 'band size m̂ (eigenvalues)',
        get: (r) => r.bandSize,
        zero: true,
        integer: true,
      },
      { quantity: 'subspace overlap O', ytitle: 'overlap O (0–1)', get: (r) => r.overlap, zero: true },
    ],
    { interpolate: 'step-after' },
  );
  if (values.length === 0) return null;
  return {
    id: 'omd-band',
    title: 'Band size and overlap',
    caption:
      'm̂(t): size of the top-of-spectrum band (0 = no clear gap); O(t) ∈ [0, 1]: overlap of the band eigenvectors with the previous snapshot. A band that forms and holds (constant m̂, O near 1) marks a transition; fluctuating m̂ and low O a diffusive drift.',
    spec: top(spec, 'OMD band size m̂(t) and subspace overlap O(t)'),
  };
}

/** Participation-ratio and entropy effective dimensions of the non-Perron spectrum. */
export function dimensionFigure(omd: OmdLayer[]): Figure | null {
  const values: { step: number; series: string; value: number | null }[] = [];
  for (const l of omd) {
    for (const r of l.rows) {
      values.push({ step: r.step, series: `${l.layer}: participation ratio`, value: num(r.participationRatio) });
      values.push({ step: r.step, series: `${l.layer}: entropy dimension`, value: num(r.entropyDimension) });
    }
  }
  if (values.every((v) => v.value === null)) return null;
  const series = [...new Set(values.map((v) => v.series))];
  return {
    id: 'omd-dimension',
    title: 'Effective dimension',
    caption:
      'Effective number of directions in the non-Perron spectrum of M(t): participation ratio (Σ|λ|)²/Σλ² and entropy dimension exp(−Σ p ln p); falling values mean the representation concentrates on fewer directions.',
    spec: top(
      {
        width: WIDTH,
        height: HEIGHT,
        data: { values },
        mark: { type: 'line', point: marked(values, series.length) },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'training step' },
          y: { field: 'value', type: 'quantitative', title: 'effective dimension (directions)' },
          color: { field: 'series', type: 'nominal', title: 'layer: measure', sort: series },
          strokeDash: {
            field: 'series',
            type: 'nominal',
            title: 'layer: measure',
            sort: series,
            scale: dashScale(series),
          },
        },
      },
      'OMD effective dimension against step',
    ),
  };
}

/** Regime windows per layer (diffusive / transition / stable) with their fingerprints. */
export function regimeFigure(omd: OmdLayer[]): Figure | null {
  const values: Record<string, unknown>[] = [];
  for (const l of omd) {
    for (const w of l.regimes?.windows ?? []) {
      values.push({
        layer: l.layer,
        start: w.startStep,
        end: w.endStep === w.startStep ? w.endStep + 0.5 : w.endStep,
        label: w.label,
        text: `${w.label}: steps ${w.startStep}–${w.endStep}, m̂ = ${w.bandSize}, ${w.fingerprint}`,
        short: `m̂ = ${w.bandSize}, ${w.fingerprint}`,
        fingerprint: w.fingerprint,
        bandSize: w.bandSize,
      });
    }
  }
  if (values.length === 0) return null;
  // Text only inside windows wide enough to hold it (a quarter of the axis); the tooltip has all.
  const lo = Math.min(...values.map((v) => v.start as number)),
    hi = Math.max(...values.map((v) => v.end as number));
  for (const v of values) if (((v.end as number) - (v.start as number)) / Math.max(1e-9, hi - lo) < 0.25) v.short = '';
  const labels = ['diffusive', 'transition', 'stable'];
  return {
    id: 'omd-regimes',
    title: 'Regime timeline',
    caption:
      'Stretches of the trajectory labelled by OmdTrajectory.regimes(): diffusive (no band that holds), transition (a band forms and holds), stable (a band from the first snapshot); text: band size and fingerprint.',
    spec: top(
      {
        width: WIDTH,
        height: { step: 34 },
        data: { values },
        layer: [
          {
            mark: { type: 'bar', height: 24, stroke: '#333333', strokeWidth: 0.5 },
            encoding: {
              x: { field: 'start', type: 'quantitative', title: 'training step' },
              x2: { field: 'end' },
              y: { field: 'layer', type: 'nominal', title: 'layer' },
              color: {
                field: 'label',
                type: 'nominal',
                title: 'regime',
                sort: labels,
                scale: { domain: labels, range: ['#56B4E9', '#D55E00', '#009E73'] },
              },
              tooltip: [{ field: 'text' }],
            },
          },
          {
            mark: { type: 'text', align: 'left', dx: 3, fontSize: 10, color: '#000000' },
            encoding: {
              x: { field: 'start', type: 'quantitative' },
              y: { field: 'layer', type: 'nominal' },
              text: { field: 'short' },
            },
          },
        ],
      },
      'OMD regime timeline',
    ),
  };
}

/** MDS clouds of the probe set at initialisation, middle and end, coloured by label when labels exist. */
export function mdsFigure(layer: OmdLayer): Figure | null {
  const steps = chosenSteps(layer.clouds.map((c) => c.step));
  const panels: Record<string, unknown>[] = [];
  for (const step of steps) {
    const c = layer.clouds.find((x) => x.step === step)!;
    if (c.dims < 2) continue;
    const n = Math.floor(c.coords.length / c.dims);
    const values = [];
    for (let i = 0; i < n; i++)
      values.push({
        x: num(c.coords[i * c.dims]),
        y: num(c.coords[i * c.dims + 1]),
        label: layer.labels ? String(layer.labels[i]) : 'probe',
      });
    panels.push({
      title: { text: `step ${step}`, fontSize: 12 },
      width: 200,
      height: 200,
      data: { values },
      mark: { type: 'point', filled: true, size: 16, opacity: 0.8 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: 'MDS 1', axis: { labels: false } },
        y: { field: 'y', type: 'quantitative', title: 'MDS 2', axis: { labels: false } },
        ...(layer.labels
          ? {
              color: { field: 'label', type: 'nominal', title: 'label', scale: { range: LABEL_COLOURS } },
              shape: { field: 'label', type: 'nominal', title: 'label' },
            }
          : { color: { value: PALETTE[0] } }),
      },
    });
  }
  if (panels.length === 0) return null;
  return {
    id: `mds-${slug(layer.layer)}`,
    title: `MDS cloud of ${layer.layer}`,
    caption:
      'Classical MDS of the probe distance matrix (first two coordinates, units √(units of M)); each point is one probe, aligned between snapshots. Labels that gather into clusters show the representation separating the classes.',
    spec: top(
      { hconcat: panels },
      `MDS cloud of the probes: ${layer.layer}`,
      layer.labels ? 'coloured by probe label' : undefined,
    ),
  };
}

/** Overlay of several runs: loss, each layer's λ_max, and each layer's OMD band size, coloured by run. */
export function overlayFigures(runs: ReportRun[]): Figure[] {
  const names = runs.map((r) => r.name);
  const out: Figure[] = [];
  const line = (
    id: string,
    title: string,
    caption: string,
    values: Record<string, unknown>[],
    ytitle: string,
    dash: string | null,
  ) => {
    if (values.length === 0) return;
    const dashes = dash ? [...new Set(values.map((v) => String(v[dash])))] : [];
    out.push({
      id,
      title,
      caption,
      spec: top(
        {
          width: WIDTH,
          height: HEIGHT,
          data: { values },
          mark: {
            type: 'line',
            point: marked(values, new Set(values.map((v) => `${v.run}/${dash ? v[dash] : ''}`)).size),
          },
          encoding: {
            x: { field: 'step', type: 'quantitative', title: 'training step' },
            y: { field: 'value', type: 'quantitative', title: ytitle, scale: { zero: false } },
            color: { field: 'run', type: 'nominal', title: 'run', sort: names },
            ...(dash
              ? { strokeDash: { field: dash, type: 'nominal', title: dash, sort: dashes, scale: dashScale(dashes) } }
              : {}),
          },
        },
        title,
      ),
    });
  };
  line(
    'overlay-loss',
    'Loss, all runs',
    'Training loss of each run against step.',
    runs.flatMap((r) =>
      r.training.filter((t) => Number.isFinite(t.loss)).map((t) => ({ run: r.name, step: t.step, value: t.loss })),
    ),
    'loss',
    null,
  );
  line(
    'overlay-lambda-max',
    'Largest eigenvalue of W Wᵀ, all runs',
    'λ_max of each weight layer (dash) in each run (colour) against step.',
    runs.flatMap((r) =>
      r.weights.flatMap((l) =>
        l.rows
          .filter((x) => Number.isFinite(x.lambda_max))
          .map((x) => ({ run: r.name, layer: l.layer, step: x.step, value: x.lambda_max })),
      ),
    ),
    'λ_max of W Wᵀ',
    'layer',
  );
  line(
    'overlay-band-size',
    'OMD band size, all runs',
    'Band size m̂(t) of each OMD layer (dash) in each run (colour).',
    runs.flatMap((r) =>
      r.omd.flatMap((l) =>
        l.rows
          .filter((x) => Number.isFinite(x.bandSize))
          .map((x) => ({ run: r.name, layer: l.layer, step: x.step, value: x.bandSize })),
      ),
    ),
    'band size m̂',
    'layer',
  );
  return out;
}

/** Every figure that applies to one run, in reading order. */
export function runFigures(run: ReportRun): Figure[] {
  const figs: (Figure | null)[] = [trainingCurves(run)];
  for (const l of run.weights) figs.push(esdFigure(l), topEigenvaluesFigure(l));
  figs.push(spikesAlphaFigure(run.weights));
  figs.push(gapRatioFigure(run.weights));
  for (const l of run.weights) figs.push(spacingFigure(l));
  for (const l of run.omd) figs.push(omdSpectrumFigure(l));
  figs.push(bandFigure(run.omd), dimensionFigure(run.omd), regimeFigure(run.omd));
  for (const l of run.omd) figs.push(mdsFigure(l));
  return figs.filter((f): f is Figure => f !== null);
}

/** A file-name-safe form of a layer name. */
export function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || 'layer';
}
