// report/: the figures of a small run written through the store, the self-contained page, its
// summary against the store's own rows, overlays, unfinished runs, and a real headless Chromium
// looking at the page (Debian's chromium driven by playwright-core; the screenshot is kept in
// test-output/ for a person to look at).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { openRun, createRun, type Run } from '../src/store/index.js';
import { PALETTE, writeReport, type ReportResult } from '../src/report/index.js';
import { fromRun } from '../src/report/from-store.js';
import { fmt } from '../src/report/html.js';
import { GAP_RATIO } from '../src/rmt/index.js';
import { FIXTURE, writeSyntheticRun } from './report-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'specdyn-report-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const EXPECTED = [
  ['training-curves', 'Training curves'],
  ['esd-dense_1_kernel', 'Weight spectrum (ESD) of dense_1/kernel'],
  ['top-eigenvalues-dense_1_kernel', 'Top eigenvalues of W Wᵀ: dense_1/kernel'],
  ['spikes-alpha', 'Spikes and power-law α against step'],
  ['gap-ratio', 'Level statistics: gap ratio against step'],
  ['spacings-dense_1_kernel', 'Level spacings of dense_1/kernel at step 70'],
  ['omd-spectrum-hidden_1', 'OMD normalised spectrum of hidden_1'],
  ['omd-band', 'OMD band size m̂(t) and subspace overlap O(t)'],
  ['omd-dimension', 'OMD effective dimension against step'],
  ['omd-regimes', 'OMD regime timeline'],
  ['mds-hidden_1', 'MDS cloud of the probes: hidden_1'],
] as const;

/** The text of the element carrying data-key="key". */
function keyed(html: string, key: string): string {
  const m = new RegExp(`data-key="${key.replace(/[/.]/g, (c) => `\\${c}`)}">([^<]*)<`).exec(html);
  if (!m) throw new Error(`no data-key ${key} in the page`);
  return m[1]!;
}

/**
 * Well-formedness of the page: every non-void element closed in order (the inline SVG is XML,
 * so it must balance too). Returns the first problem or null.
 */
function balance(html: string): string | null {
  const VOID = new Set(['meta', 'link', 'br', 'img', 'input', 'hr', 'source', 'col', 'area', 'base', 'wbr']);
  const body = html.replace(/<!DOCTYPE[^>]*>/i, '').replace(/<style>[\s\S]*?<\/style>/g, '');
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , self] = m;
    const tag = name!.toLowerCase();
    if (self || (!close && VOID.has(tag))) continue;
    if (!close) stack.push(tag);
    else if (stack.pop() !== tag) return `unexpected </${tag}> at ${m.index}`;
  }
  return stack.length ? `unclosed <${stack[stack.length - 1]}>` : null;
}

describe('report of a small stored run', () => {
  const dir = join(root, 'run-a');
  let run: Run;
  let result: ReportResult;
  let html: string;
  beforeAll(async () => {
    await writeSyntheticRun(dir);
    run = await openRun(dir);
    result = await writeReport([fromRun(run)]);
    html = readFileSync(result.html, 'utf8');
  });

  it('has every applicable figure, inline and as its own SVG file, with its title', () => {
    expect(result.figures.map((f) => f.id)).toEqual(EXPECTED.map(([id]) => id));
    for (const [id, title] of EXPECTED) {
      const fig = new RegExp(
        `<figure class="fig" id="fig-${id}" data-figure="${id}">\\s*<svg[\\s\\S]*?</svg>\\s*<figcaption>`,
      ).exec(html);
      expect(fig, id).not.toBeNull();
      expect(fig![0], id).toContain(`>${title.replace(/&/g, '&amp;')}</text>`);
      const file = readFileSync(join(dir, 'figures', `${id}.svg`), 'utf8');
      expect(file.startsWith('<svg')).toBe(true);
      expect(file.trimEnd().endsWith('</svg>')).toBe(true);
      expect(file).toContain(title);
    }
  });

  it('is well-formed, self-contained HTML with unique element ids', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(balance(html)).toBeNull();
    // Nothing fetched: no URL with a scheme or protocol-relative in any src or href.
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:|\/\/)/i);
    expect(html).not.toMatch(/<script\b|<link\b|<img\b|@import|url\((?!#)/i);
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]!);
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of html.matchAll(/url\(#([^)]+)\)/g)) expect(ids).toContain(m[1]);
  });

  it('summary numbers equal the store', () => {
    const layer = FIXTURE.weightLayer;
    const rows = run.rows({ family: 'weights', observable: layer });
    const last = rows[rows.length - 1]!;
    expect(keyed(html, 'snapshots')).toBe(String(run.steps.length));
    expect(keyed(html, 'last-step')).toBe(String(run.steps[run.steps.length - 1]));
    expect(keyed(html, 'status-value')).toBe('finished');
    expect(keyed(html, 'backend')).toBe('cpu');
    expect(Number(keyed(html, `num_spikes:${layer}`))).toBe(last.num_spikes);
    // The fixture's signals (3 and 2 at the end, threshold r^(1/4) ≈ 0.84) both detach.
    expect(last.num_spikes).toBe(2);
    expect(keyed(html, `lambda_max:${layer}`)).toBe(fmt(last.lambda_max as number));
    expect(
      Math.abs(Number(keyed(html, `lambda_max:${layer}`)) - (last.lambda_max as number)) / (last.lambda_max as number),
    ).toBeLessThan(5e-4);
    expect(keyed(html, `alpha:${layer}`)).toBe(fmt(last.alpha as number));
    const first = rows.find((r) => (r.num_spikes as number) >= 1)!;
    expect(keyed(html, `first_detachment:${layer}`)).toBe(String(first.step));
    expect(keyed(html, `verdict:${FIXTURE.omdLayer}`)).toBe(run.trajectory(FIXTURE.omdLayer).regimes().verdict);
    expect(html).not.toContain('This run is unfinished');
  });

  it('draws the GOE and Poisson gap-ratio references', () => {
    const svg = readFileSync(join(dir, 'figures', 'gap-ratio.svg'), 'utf8');
    expect(svg).toContain(`GOE ${GAP_RATIO.goe.toFixed(4)}`);
    expect(svg).toContain(`Poisson ${GAP_RATIO.poisson.toFixed(4)}`);
    expect(GAP_RATIO.goe.toFixed(4)).toBe('0.5307');
    expect(GAP_RATIO.poisson.toFixed(4)).toBe('0.3863');
  });

  it('draws no figure without data: a run with weights only has no OMD or training figures', async () => {
    const d = join(root, 'weights-only');
    const w = await createRun(d, {});
    const full = await openRun(dir);
    for (const step of full.steps) {
      const row = full.rows({ family: 'weights', step })[0]!;
      const { step: _s, family: _f, observable: _o, session: _x, ...scalars } = row;
      w.append({
        step,
        observables: [
          {
            observable: 'w',
            family: 'weights',
            row: scalars,
            arrays: { evals: full.array(step, FIXTURE.weightLayer, 'evals')! },
          },
        ],
      });
    }
    await w.close();
    const r = await writeReport([fromRun(await openRun(d))]);
    expect(r.figures.map((f) => f.id)).toEqual([
      'esd-w',
      'top-eigenvalues-w',
      'spikes-alpha',
      'gap-ratio',
      'spacings-w',
    ]);
    expect(readFileSync(r.html, 'utf8')).not.toContain('OMD layers');
  });

  it('says when a run is unfinished', async () => {
    const d = join(root, 'open');
    await writeSyntheticRun(d, { steps: 4, close: false });
    const r = await writeReport([fromRun(await openRun(d))], { refreshSeconds: 4 });
    const page = readFileSync(r.html, 'utf8');
    expect(page).toContain('This run is unfinished (status: running)');
    expect(page).toContain('<meta http-equiv="refresh" content="4">');
    expect(keyed(page, 'snapshots')).toBe('4');
  });

  it('overlays the headline curves of several runs', async () => {
    const d2 = join(root, 'run-b');
    await writeSyntheticRun(d2, { steps: 5 });
    const outDir = join(root, 'overlay');
    const r = await writeReport([fromRun(run, 'a'), fromRun(await openRun(d2), 'b')], { outDir });
    expect(r.figures.map((f) => f.id)).toEqual(['overlay-loss', 'overlay-lambda-max', 'overlay-band-size']);
    const svg = readFileSync(join(outDir, 'figures', 'overlay-loss.svg'), 'utf8');
    expect(svg).toContain('>a</text>');
    expect(svg).toContain('>b</text>');
    await expect(writeReport([fromRun(run), fromRun(run)])).rejects.toThrow(RangeError);
  });

  it('opens in headless Chromium: not blank, every figure has a size, no console errors', async () => {
    const chromiumPath = '/usr/bin/chromium';
    expect(
      existsSync(chromiumPath),
      'Debian chromium is missing: node scripts/bootstrap.mjs --browser installs it',
    ).toBe(true);
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'specdyn-chromium-'));
    // A fresh profile directory (playwright passes it as --user-data-dir).
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1200, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(result.html).href, { waitUntil: 'load' });
      const sizes = await page.$$eval('figure[data-figure] > svg', (els) =>
        els.map((e) => {
          const b = e.getBoundingClientRect();
          return { id: e.parentElement!.getAttribute('data-figure'), w: b.width, h: b.height };
        }),
      );
      expect(sizes.map((s) => s.id)).toEqual(EXPECTED.map(([id]) => id));
      for (const s of sizes) {
        expect(s.w, s.id!).toBeGreaterThan(50);
        expect(s.h, s.id!).toBeGreaterThan(50);
      }
      const outDir = resolve('test-output');
      mkdirSync(outDir, { recursive: true });
      const shot = join(outDir, 'report-screenshot.png');
      const png = await page.screenshot({ path: shot, fullPage: true });
      expect(problems).toEqual([]);
      // Only the page itself was loaded: nothing fetched.
      expect(requests).toEqual([pathToFileURL(result.html).href]);
      // Not blank: a good share of non-white pixels, and the palette's colours are on screen.
      const px = pixelStats(png);
      expect(px.white).toBeLessThan(0.97);
      const shown = PALETTE.slice(0, 4).filter((c) => (px.counts.get(c.toLowerCase()) ?? 0) > 50);
      expect(shown.length).toBeGreaterThanOrEqual(3);
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});

/**
 * Pixel statistics of a PNG screenshot: the fraction of pure-white pixels and a count per exact
 * colour (#rrggbb). Decoded here with zlib (8-bit RGB or RGBA, non-interlaced, as Chromium writes
 * them; the scanline filters undone).
 */
function pixelStats(png: Buffer): { white: number; counts: Map<string, number> } {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  let pos = 8,
    width = 0,
    height = 0,
    channels = 0;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos),
      type = png.subarray(pos + 4, pos + 8).toString('latin1');
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8);
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      expect(channels).toBeGreaterThan(0);
      expect(data[12]).toBe(0);
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const prev = new Uint8Array(stride),
    cur = new Uint8Array(stride);
  let white = 0;
  const counts = new Map<string, number>();
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels]! : 0,
        b = prev[i]!,
        c = i >= channels ? prev[i - channels]! : 0;
      const p = a + b - c,
        pa = Math.abs(p - a),
        pb = Math.abs(p - b),
        pc = Math.abs(p - c);
      const pred =
        f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      cur[i] = (line[i]! + pred) & 255;
    }
    for (let x = 0; x < width; x++) {
      const r = cur[x * channels]!,
        g = cur[x * channels + 1]!,
        b = cur[x * channels + 2]!;
      if (r === 255 && g === 255 && b === 255) white++;
      const hex = '#' + [r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('');
      counts.set(hex, (counts.get(hex) ?? 0) + 1);
    }
    prev.set(cur);
  }
  return { white: white / (width * height), counts };
}
