/**
 * Vega-Lite spec → SVG text, in Node, without a canvas or a browser: vega-lite compiles the spec
 * to Vega, a headless Vega view (renderer 'none') renders the scenegraph to an SVG string.
 */
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

/**
 * Renders one Vega-Lite spec to a standalone SVG document string.
 * @throws Error from vega-lite or vega when the spec is invalid (message names the figure id).
 */
export async function renderSvg(spec: Record<string, unknown>, id: string): Promise<string> {
  try {
    const compiled = vegaLite.compile(spec as unknown as vegaLite.TopLevelSpec).spec;
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
