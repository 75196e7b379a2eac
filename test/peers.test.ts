// Optional peer dependencies (apache-arrow for the run store, vega + vega-lite for the report):
// with a peer missing, importing the store or the report still works, and only the functions
// that need the peer fail, with one SpecdynError naming the package and the install command,
// before anything is written. The missing peer is simulated in-process by a resolver that
// reports the hidden packages as not found (node:module's createRequire, which the peer check
// uses), and for the CLI by a copy of the package whose node_modules lacks them.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const hidden = new Set<string>(['apache-arrow', 'vega', 'vega-lite', 'fastify', 'bullmq', 'ioredis']);

vi.mock('node:module', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:module')>();
  const createRequire = (from: string | URL): NodeJS.Require => {
    const req = actual.createRequire(from);
    const resolveHiding = ((id: string, options?: { paths?: string[] }) => {
      if (hidden.has(id) || [...hidden].some((p) => id.startsWith(`${p}/`))) {
        throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
      }
      return req.resolve(id, options);
    }) as NodeJS.RequireResolve;
    resolveHiding.paths = req.resolve.paths;
    return Object.assign(((id: string) => req(id)) as NodeJS.Require, req, { resolve: resolveHiding });
  };
  return { ...actual, createRequire, default: { ...actual, createRequire } };
});

const { SpecdynError } = await import('../src/errors.js');
const { missingPeerIn, requirePeers } = await import('../src/peers.js');
const store = await import('../src/store/index.js');
const { ARROW_INSTALL, ARROW_RANGE } = await import('../src/store/arrow.js');
const { writeReport, renderSvg } = await import('../src/report/index.js');
const { VEGA_RANGES } = await import('../src/report/render.js');
const { FASTIFY_INSTALL, FASTIFY_RANGE, startServer } = await import('../src/server/fastify.js');
const { QUEUE_INSTALL, QUEUE_RANGES, checkRedis } = await import('../src/sweep/queue.js');
const { writeSyntheticRun } = await import('./report-fixture.js');

const ARROW_MESSAGE =
  "specdyn's run store needs apache-arrow, an optional peer dependency of specdyn that is not installed (missing: apache-arrow). " +
  'Install it in your app: npm install apache-arrow@^21.1.0';
const vegaMessage = (missing: string) =>
  `specdyn's report needs vega and vega-lite, optional peer dependencies of specdyn that are not installed (missing: ${missing}). ` +
  'Install them in your app: npm install vega@^6.4.0 vega-lite@^6.4.3';

const root = mkdtempSync(join(tmpdir(), 'specdyn-peers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function rejection(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, 'the call resolved although a peer is missing').toBeInstanceOf(Error);
  return e as Error;
}

describe('the generic peer check', () => {
  it('passes for installed packages and names the missing ones, singular and plural', () => {
    expect(() => requirePeers(['vitest'], { entry: 'x', install: 'npm install vitest' })).not.toThrow();
    expect(() =>
      requirePeers(['vitest', 'not-a-package-xyz'], { entry: 'specdyn/thing', install: 'npm install a b' }),
    ).toThrow(
      new SpecdynError(
        'specdyn/thing needs vitest and not-a-package-xyz, optional peer dependencies of specdyn that are not installed (missing: not-a-package-xyz). Install them in your app: npm install a b',
      ),
    );
    expect(() => requirePeers(['not-a-package-xyz'], { entry: 'e', install: 'npm install y', name: 'Y' })).toThrow(
      new SpecdynError(
        'e needs Y, an optional peer dependency of specdyn that is not installed (missing: not-a-package-xyz). Install it in your app: npm install y',
      ),
    );
  });

  it('missingPeerIn finds the peer error itself or behind the causes that wrap it, and nothing else', () => {
    let peer: unknown;
    try {
      requirePeers(['not-a-package-xyz'], { entry: 'e', install: 'npm install y' });
    } catch (e) {
      peer = e;
    }
    const wrapped = new SpecdynError('Cannot read the run at x: ...', { cause: new Error('middle', { cause: peer }) });
    expect(missingPeerIn(peer)).toBe(peer);
    expect(missingPeerIn(wrapped)).toBe(peer);
    expect(missingPeerIn(new SpecdynError((peer as Error).message))).toBeUndefined();
    expect(missingPeerIn('not an error')).toBeUndefined();
  });

  it("the install commands use package.json's peer ranges, which are ^ of the pinned devDependencies", () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as Record<string, Record<string, unknown>>;
    const ranges = { 'apache-arrow': ARROW_RANGE, ...VEGA_RANGES, fastify: FASTIFY_RANGE, ...QUEUE_RANGES };
    for (const [name, range] of Object.entries(ranges)) {
      expect(pkg['peerDependencies']![name], name).toBe(range);
      expect(pkg['peerDependenciesMeta']![name], name).toEqual({ optional: true });
      expect(`^${pkg['devDependencies']![name]}`, name).toBe(range);
      expect(pkg['dependencies']![name], name).toBeUndefined();
    }
    expect(ARROW_INSTALL).toBe(`npm install apache-arrow@${ARROW_RANGE}`);
    expect(FASTIFY_INSTALL).toBe(`npm install fastify@${FASTIFY_RANGE}`);
    expect(QUEUE_INSTALL).toBe(`npm install bullmq@${QUEUE_RANGES.bullmq} ioredis@${QUEUE_RANGES.ioredis}`);
  });
});

describe('the run store without apache-arrow', () => {
  it('imports, and the npy reader works without it', () => {
    expect(typeof store.createRun).toBe('function');
    const npy = store.parseNpy(npyBytes([1.5, -2]));
    expect(Array.from(npy.data)).toEqual([1.5, -2]);
  });

  it('createRun, openRun, repairRun, spectraSchema, importSnapshots and importCheckpoints throw the one message and write nothing', async () => {
    const dir = join(root, 'no-arrow-run');
    for (const call of [
      () => store.createRun(dir, { seed: 1 }),
      () => store.openRun(dir),
      () => store.repairRun(dir),
      () => store.spectraSchema(),
      () => store.importSnapshots(join(root, 'none'), { out: dir }),
      () => store.importCheckpoints(join(root, 'none.safetensors'), { out: dir }),
    ]) {
      const e = await rejection(call());
      expect(e).toBeInstanceOf(SpecdynError);
      expect(e.message).toBe(ARROW_MESSAGE);
    }
    expect(existsSync(dir)).toBe(false);
  });
});

describe('the report without vega / vega-lite', () => {
  it('renderSvg and writeReport throw the one message naming the missing packages; nothing is written', async () => {
    const spec = { mark: 'point', data: { values: [{ x: 1 }] }, encoding: { x: { field: 'x', type: 'quantitative' } } };
    const e = await rejection(renderSvg(spec, 'fig'));
    expect(e).toBeInstanceOf(SpecdynError);
    expect(e.message).toBe(vegaMessage('vega, vega-lite'));
    hidden.delete('vega');
    const out = join(root, 'no-vega-report');
    const run = { dir: out, name: 'r' } as unknown as Parameters<typeof writeReport>[0][0];
    const e2 = await rejection(writeReport([run], { outDir: out }));
    expect(e2).toBeInstanceOf(SpecdynError);
    expect(e2.message).toBe(vegaMessage('vega-lite'));
    expect(existsSync(out)).toBe(false);
    hidden.add('vega');
  });
});

describe('the server and the sweep queue without their peers', () => {
  it('startServer names fastify and its install command; the queue names bullmq, ioredis and theirs', async () => {
    await expect(startServer({ port: 0 })).rejects.toThrow(
      `specdyn serve needs fastify, an optional peer dependency of specdyn that is not installed (missing: fastify). Install it in your app: ${FASTIFY_INSTALL}`,
    );
    await expect(checkRedis('redis://127.0.0.1:1')).rejects.toThrow(
      `specdyn's sweep queue needs bullmq and ioredis, optional peer dependencies of specdyn that are not installed (missing: bullmq, ioredis). Install them in your app: ${QUEUE_INSTALL}`,
    );
  });
});

describe('once installed, the same calls work (no stale failure is cached)', () => {
  it('writes and reads a run and renders a figure', async () => {
    hidden.clear();
    const dir = join(root, 'with-peers');
    await writeSyntheticRun(dir, { steps: 3 });
    const run = await store.openRun(dir);
    expect(run.steps).toEqual([0, 10, 20]);
    const schema = await store.spectraSchema();
    expect(schema.fields.map((f) => [f.name, String(f.type), f.nullable])).toEqual([
      ['session', 'Int32', false],
      ['flush', 'Int32', false],
      ['step', 'Float64', false],
      ['family', 'Utf8', false],
      ['observable', 'Utf8', false],
      ['name', 'Utf8', false],
      ['dtype', 'Utf8', false],
      ['rows', 'Int32', false],
      ['cols', 'Int32', true],
      ['values', 'List<Float64>', false],
    ]);
    expect(await store.spectraSchema()).toBe(schema);
    const svg = await renderSvg(
      { mark: 'point', data: { values: [{ x: 1 }] }, encoding: { x: { field: 'x', type: 'quantitative' } } },
      'fig',
    );
    expect(svg).toMatch(/^<svg/);
  });
});

describe('the CLI with a peer missing: one line, exit 1', () => {
  // A copy of the package (dist/, package.json, the native build) whose node_modules links every
  // installed package except the ones a case leaves out.
  const pkg = join(root, 'pkg');
  const modules = join(pkg, 'node_modules');
  const link = (name: string) => symlinkSync(resolve('node_modules', name), join(modules, name));

  function cli(args: string[]) {
    const r = spawnSync(process.execPath, [join(pkg, 'dist', 'cli', 'main.js'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', NODE_PATH: '' },
      timeout: 110_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('report: without apache-arrow the store message, with it but without vega the report message', async () => {
    expect(existsSync('dist/cli/main.js'), 'dist/ is missing: run node scripts/bootstrap.mjs (or npx tsc)').toBe(true);
    mkdirSync(modules, { recursive: true });
    cpSync('dist', join(pkg, 'dist'), { recursive: true });
    cpSync('package.json', join(pkg, 'package.json'));
    for (const d of ['build', 'prebuilds']) if (existsSync(d)) symlinkSync(resolve(d), join(pkg, d));
    for (const name of readdirSync('node_modules'))
      if (!name.startsWith('.') && !['apache-arrow', 'vega', 'vega-lite'].includes(name)) link(name);
    const runDir = join(root, 'cli-run');
    await writeSyntheticRun(runDir, { steps: 3 });

    const noArrow = cli(['report', runDir]);
    expect(noArrow.code).toBe(1);
    expect(noArrow.stderr.split('\n').filter((l) => l.trim())).toEqual([`error: ${ARROW_MESSAGE}`]);
    expect(existsSync(join(runDir, 'report.html'))).toBe(false);
    // `runs` lists what it cannot open, with the reason, instead of failing.
    const runs = cli(['runs', root, '--json']);
    expect(runs.code).toBe(0);
    const listed = JSON.parse(runs.stdout) as { runs: unknown[]; unreadable: { dir: string; error: string }[] };
    expect(listed.runs).toEqual([]);
    expect(listed.unreadable.find((u) => u.dir === runDir)?.error).toBe(ARROW_MESSAGE);

    link('apache-arrow');
    link('vega');
    const noVegaLite = cli(['report', runDir]);
    expect(noVegaLite.code).toBe(1);
    expect(noVegaLite.stderr.split('\n').filter((l) => l.trim())).toEqual([`error: ${vegaMessage('vega-lite')}`]);
    expect(existsSync(join(runDir, 'report.html'))).toBe(false);
    expect(existsSync(join(runDir, 'figures'))).toBe(false);

    link('vega-lite');
    const ok = cli(['report', runDir, '--quiet']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(existsSync(join(runDir, 'report.html'))).toBe(true);
  });
});

/** A 1-D float64 .npy file holding `values`. */
function npyBytes(values: number[]): Uint8Array {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${values.length},), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + 8 * values.length);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(Buffer.from(header, 'latin1'), 10);
  new Float64Array(out.buffer, 10 + header.length).set(values);
  return out;
}
