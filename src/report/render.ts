/**
 * Vega-Lite spec → SVG text, in Node, without a canvas or a browser: vega-lite compiles the spec
 * to Vega, a headless Vega view (renderer 'none') renders the scenegraph to an SVG string.
 *
 * vega and vega-lite are optional peer dependencies (an app that never writes a report does not
 * install them): they are imported on first use, after a check that names what to install.
 */
import type { TopLevelSpec } from 'vega-lite';
import { requirePeers } from '../peers.js';

/** The vega and vega-lite modules the renderer uses. */
interface Vega {
  vega: typeof import('vega');
  vegaLite: typeof import('vega-lite');
}

/** The versions the report is tested with (package.json peerDependencies). */
export const VEGA_RANGES = { vega: '^6.4.0', 'vega-lite': '^6.4.3' } as const;

/** The command that installs the report's optional peer dependencies. */
export const VEGA_INSTALL = `npm install vega@${VEGA_RANGES.vega} vega-lite@${VEGA_RANGES['vega-lite']}`;

let loaded: Promise<Vega> | undefined;

/** The modules, imported once, after the peer check. */
function vegaModules(): Promise<Vega> {
  requirePeers(['vega', 'vega-lite'], { entry: "specdyn's report", install: VEGA_INSTALL });
  loaded ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vegaLite]) => ({ vega, vegaLite }));
  return loaded;
}

/**
 * Imports vega and vega-lite once (optional peer dependencies). writeReport awaits this before it
 * writes anything; {@link renderSvg} loads them itself.
 * @throws SpecdynError naming the missing packages and {@link VEGA_INSTALL} when one is not installed.
 */
export async function loadVega(): Promise<void> {
  await vegaModules();
}

/**
 * Renders one Vega-Lite spec to a standalone SVG document string.
 * @throws SpecdynError when vega or vega-lite is not installed (see {@link loadVega}).
 * @throws Error from vega-lite or vega when the spec is invalid (message names the figure id).
 */
export async function renderSvg(spec: Record<string, unknown>, id: string): Promise<string> {
  const { vega, vegaLite } = await vegaModules();
  try {
    const compiled = vegaLite.compile(spec as unknown as TopLevelSpec).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Warn });
    const svg = await view.toSVG();
    view.finalize();
    return svg;
  } catch (err) {
    throw new Error(`Cannot render figure '${id}': ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Makes the element ids of an SVG unique within a page that inlines several SVGs (Vega numbers its
 * clip paths from 1 in every view): every id and every reference to it gets `prefix`.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${prefix}${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}${id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${prefix}${id}"`);
}
