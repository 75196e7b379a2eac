/**
 * Vega-Lite builders for the experiments' own figures (phase maps, curves against closed forms),
 * in the report's house style (its config and Okabe–Ito palette). Non-finite numbers become null.
 */
import { CONFIG, PALETTE } from '../report/figures.js';
import type { Figure } from '../report/index.js';

/** A JSON-safe number: NaN and ±Infinity → null. */
export function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** A top-level spec with title and the shared config. */
export function top(title: string, body: Record<string, unknown>, subtitle?: string): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    title: subtitle ? { text: title, subtitle } : title,
    ...body,
  };
}

/** The colours of the three trainability phases (and of 'not trainable' / 'trainable' readings). */
export const PHASE_COLOURS = {
  domain: ['disordered', 'ferromagnetic', 'paramagnetic'],
  range: [PALETTE[5]!, PALETTE[0]!, PALETTE[3]!],
};

/**
 * A map of cells on log axes: one square per cell at (x, y), coloured by `color` (nominal or
 * quantitative), with optional boundary lines (long format { x, y, curve }).
 */
export function cellMap(o: {
  cells: Record<string, unknown>[];
  x: { field: string; title: string; log?: boolean };
  y: { field: string; title: string; log?: boolean };
  color: { field: string; title: string; type: 'nominal' | 'quantitative'; scale?: Record<string, unknown> };
  lines?: { x: number | null; y: number | null; curve: string }[];
  width?: number;
  height?: number;
  size?: number;
}): Record<string, unknown> {
  const xs = { type: o.x.log === false ? 'linear' : 'log' };
  const ys = { type: o.y.log === false ? 'linear' : 'log' };
  const layers: Record<string, unknown>[] = [
    {
      data: { values: o.cells },
      mark: { type: 'square', filled: true, size: o.size ?? 90, opacity: 0.9 },
      encoding: {
        x: { field: o.x.field, type: 'quantitative', title: o.x.title, scale: xs },
        y: { field: o.y.field, type: 'quantitative', title: o.y.title, scale: ys },
        color: {
          field: o.color.field,
          type: o.color.type,
          title: o.color.title,
          ...(o.color.scale ? { scale: o.color.scale } : {}),
        },
        tooltip: [{ field: o.x.field }, { field: o.y.field }, { field: o.color.field }],
      },
    },
  ];
  if (o.lines && o.lines.length > 0) {
    layers.push({
      data: { values: o.lines.filter((l) => l.x !== null && l.y !== null) },
      mark: { type: 'line', color: '#000000', strokeWidth: 1.6, clip: true },
      encoding: {
        x: { field: 'x', type: 'quantitative', scale: xs },
        y: { field: 'y', type: 'quantitative', scale: ys },
        strokeDash: { field: 'curve', type: 'nominal', title: 'closed form' },
        detail: { field: 'curve' },
      },
    });
  }
  return {
    width: o.width ?? 300,
    height: o.height ?? 260,
    layer: layers,
    resolve: { scale: { color: 'independent', strokeDash: 'independent' } },
  };
}

/**
 * Measured points against closed-form curves, one panel per quantity: `points` and `curves` are
 * long-format { x, value, quantity, series }.
 */
export function versusTheory(o: {
  points: { x: number | null; value: number | null; quantity: string; series: string }[];
  curves: { x: number | null; value: number | null; quantity: string; series: string }[];
  quantities: { name: string; title: string; log?: boolean }[];
  x: { title: string; log?: boolean };
  width?: number;
}): Record<string, unknown> {
  const xs = { type: o.x.log ? 'log' : 'linear' };
  return {
    vconcat: o.quantities.map((q, i) => ({
      width: o.width ?? 460,
      height: 160,
      layer: [
        {
          data: { values: o.curves.filter((c) => c.quantity === q.name && c.x !== null && c.value !== null) },
          mark: { type: 'line', clip: true },
          encoding: {
            x: { field: 'x', type: 'quantitative', title: i === o.quantities.length - 1 ? o.x.title : null, scale: xs },
            y: { field: 'value', type: 'quantitative', title: q.title, scale: { type: q.log ? 'log' : 'linear' } },
            color: { field: 'series', type: 'nominal', title: 'series' },
            strokeDash: { field: 'series', type: 'nominal', title: 'series' },
          },
        },
        {
          data: { values: o.points.filter((c) => c.quantity === q.name && c.x !== null && c.value !== null) },
          mark: { type: 'point', filled: true, size: 40, clip: true },
          encoding: {
            x: { field: 'x', type: 'quantitative', scale: xs },
            y: { field: 'value', type: 'quantitative', scale: { type: q.log ? 'log' : 'linear' } },
            color: { field: 'series', type: 'nominal', title: 'series' },
            shape: { field: 'series', type: 'nominal', title: 'series' },
          },
        },
      ],
    })),
    resolve: { scale: { color: 'shared' } },
  };
}

/** A figure record. */
export function figure(id: string, title: string, caption: string, spec: Record<string, unknown>): Figure {
  return { id, title, caption, spec };
}
