// Failure paths of the native core: no C++ exception, worker termination or memory limit ends
// the process. Each scenario that could abort runs in a child process, whose exit code and
// signal are checked.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expected, InternalError } from '../src/errors.js';
import { eigh, eighSync, eigshSync, eigvalsh, eigvalshSync, gram, gramSync, svdvalsSync } from '../src/linalg/index.js';
import { checkMat } from '../src/matrix.js';
import { native, packageRoot } from '../src/native.js';
import { randSym, randn } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'specdyn-lifecycle-'));
function runNode(
  script: string,
  shellPrefix = '',
): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const file = path.join(dir, `s${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  const cmd = `${shellPrefix}exec "${process.execPath}" "${file}"`;
  const r = spawnSync('sh', ['-c', cmd], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
    timeout: 180_000,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
const load = `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const b = require(${JSON.stringify(path.join(packageRoot, 'node_modules/node-gyp-build'))})(${JSON.stringify(packageRoot)});
`;

describe('worker_threads terminated mid-call', () => {
  it('500 terminations at random points of loading, sync calls and async calls: no abort', () => {
    // A third of the workers are terminated right after they come online (while they load
    // the addon), the rest at a random moment of a loop of sync and async calls.
    const script = `import { Worker } from 'node:worker_threads';
const root = ${JSON.stringify(packageRoot)};
const total = 500, parallel = 4;
const workerCode = \`
const { parentPort, workerData } = require('node:worker_threads');
const b = require(workerData.root + '/node_modules/node-gyp-build')(workerData.root);
let s = workerData.seed >>> 0;
const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296);
const sym = (n) => { const d = new Float64Array(n * n); for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) d[i * n + j] = d[j * n + i] = rnd() - 0.5; return { data: d, rows: n, cols: n }; };
const a = sym(64), x = { data: new Float64Array(80 * 24).map(rnd), rows: 80, cols: 24 };
parentPort.postMessage('ready');
(async () => {
  for (;;) {
    switch ((rnd() * 8) | 0) {
      case 0: b.gram(x, undefined, false); break;
      case 1: b.eigh(a, undefined, false); break;
      case 2: b.svdvals(x, undefined, false); break;
      case 3: b.eigvalsh(a, undefined, false); break;
      case 4: await b.eigh(a, undefined, true); break;
      case 5: await b.eigsh(a, { k: 4 }, undefined, true); break;
      case 6: await b.distanceMatrix(x, undefined, true); break;
      default: await Promise.all([b.gram(x, undefined, true), b.eigvalsh(a, { range: [0, 3] }, true)]);
    }
  }
})();
\`;
let started = 0, done = 0, ready = 0;
function one(i) {
  return new Promise((resolve) => {
    const w = new Worker(workerCode, { eval: true, workerData: { root, seed: i + 1 } });
    w.on('error', () => {});
    w.once('exit', resolve); // a worker that ends by itself (it should not) settles its lane too
    const stop = (ms) => setTimeout(() => w.terminate().then(resolve, resolve), ms);
    if (i % 3 === 0) w.once('online', () => stop(Math.random() * 4));
    else w.once('message', () => { ready++; stop(Math.random() * 12); });
  });
}
async function lane() { while (started < total) { const i = started++; await one(i); done++; } }
await Promise.all(Array.from({ length: parallel }, lane));
console.log(JSON.stringify({ terminated: done, duringCalls: ready }));
`;
    const r = runNode(script);
    expect(r.stderr).not.toMatch(/terminate called|Aborted|FATAL/);
    expect([r.status, r.signal]).toEqual([0, null]);
    expect(JSON.parse(r.stdout.trim())).toEqual({ terminated: 500, duringCalls: 333 });
  });
});

describe('memory limits', () => {
  it('under ulimit -v 4000000, gramSync / gram / distanceMatrix of 30 000 rows are a clear RangeError', () => {
    const script = `${load}
const x = { data: new Float64Array(30000 * 8), rows: 30000, cols: 8 };
for (const [name, f] of [['gramSync', () => b.gram(x, undefined, false)], ['gram', () => b.gram(x, undefined, true)], ['distanceMatrix', () => b.distanceMatrix(x, undefined, true)]]) {
  try { await f(); console.log(name, 'no error'); } catch (e) { console.log(name, e.constructor.name + ': ' + e.message); }
}
console.log('ALIVE', b.eigvalsh({ data: new Float64Array([2, 1, 1, 2]), rows: 2, cols: 2 }, undefined, false).join(','));
`;
    const r = runNode(script, 'ulimit -v 4000000; ');
    expect([r.status, r.signal]).toEqual([0, null]);
    const lines = r.stdout.trim().split('\n');
    for (const [i, name] of ['gramSync', 'gram', 'distanceMatrix'].entries()) {
      expect(lines[i]).toMatch(
        new RegExp(
          `^${name} RangeError: Expected a problem that fits in memory \\(\\d+\\.\\d GiB of address space left under RLIMIT_AS \\(ulimit -v\\)\\) for x but received a 30000 x 8 matrix needing 6\\.7 GiB$`,
        ),
      );
    }
    expect(lines[3]).toBe('ALIVE 1,3');
  });
});

describe('memory limits: cgroups', () => {
  // SPECDYN_CGROUP_ROOT points the limit reader at a directory laid out like the cgroup mount.
  const cases: [string, string, string, number, RegExp][] = [
    [
      'v2 memory.max of 1 GiB',
      'memory.max',
      '1073741824\n',
      20000,
      /fits in memory \(\d\.\d GiB of memory left under the cgroup limit\) for x but received a 20000 x 4 matrix needing 3\.0 GiB/,
    ],
    [
      'v1 memory.limit_in_bytes of 1 GiB',
      'memory/memory.limit_in_bytes',
      '1073741824\n',
      20000,
      /fits in memory \(\d\.\d GiB of memory left under the cgroup limit\)/,
    ],
    ["v2 'max' (no limit)", 'memory.max', 'max\n', 2000, /^no error 2000$/],
  ];
  for (const [label, file, content, rows, want] of cases) {
    it(`${label}: gramSync of ${rows} x 4 ${rows > 2000 ? 'is refused before allocating' : 'runs'}`, () => {
      const root = mkdtempSync(path.join(os.tmpdir(), 'specdyn-cgroup-'));
      mkdirSync(path.join(root, 'memory'), { recursive: true });
      writeFileSync(path.join(root, file), content);
      const r = runNode(
        `${load}
try { const g = b.gram({ data: new Float64Array(${rows} * 4), rows: ${rows}, cols: 4 }, undefined, false); console.log('no error', g.rows); }
catch (e) { console.log(e.constructor.name + ': ' + e.message); }
`,
        `SPECDYN_CGROUP_ROOT='${root}' `,
      );
      expect([r.status, r.signal]).toEqual([0, null]);
      expect(r.stdout.trim()).toMatch(want);
      if (rows > 2000) expect(r.stdout).toMatch(/^RangeError: Expected a problem that fits in memory/);
    });
  }
});

describe('C++ exceptions become JavaScript errors (injected faults)', () => {
  const b = native();
  afterEach(() => b.__injectFault('none'));
  const big = randSym(200, 3); // large enough to run on the pool when async
  const internal = (fn: string, what: string) =>
    new InternalError(`specdyn internal error in ${fn}: ${what} (please report this as a specdyn bug)`);

  it('std::length_error in a kernel: InternalError, sync and async (pool thread), and the next call works', async () => {
    b.__injectFault('kernel', 'length_error');
    expect(() => eighSync(big)).toThrow(internal('eigh', 'injected fault (std::length_error)'));
    b.__injectFault('kernel', 'length_error');
    await expect(eigh(big)).rejects.toThrow(internal('eigh', 'injected fault (std::length_error)'));
    b.__injectFault('kernel', 'length_error');
    await expect(gram(randn(300, 40))).rejects.toBeInstanceOf(InternalError);
    b.__injectFault('kernel', 'length_error');
    expect(() => eigshSync(big, { k: 2 })).toThrow(internal('eigsh', 'injected fault (std::length_error)'));
    expect(eigvalshSync(big).length).toBe(200);
  });

  it('a non-std exception and std::bad_alloc in a kernel: InternalError and RangeError', async () => {
    b.__injectFault('kernel', 'unknown');
    expect(() => svdvalsSync(randn(5, 4))).toThrow(internal('svdvals', 'an unknown C++ exception'));
    b.__injectFault('kernel', 'bad_alloc');
    await expect(eigvalsh(big)).rejects.toThrow(
      new RangeError(
        'Expected a problem whose memory can be allocated for eigvalsh but received an allocation failure (out of memory)',
      ),
    );
  });

  it('exceptions while the result is allocated on the main thread: sync and async', async () => {
    b.__injectFault('result', 'length_error');
    expect(() => gramSync(randn(4, 3))).toThrow(internal('gram', 'injected fault (std::length_error)'));
    b.__injectFault('result', 'bad_alloc');
    await expect(eigh(big)).rejects.toThrow(
      new RangeError(
        'Expected a problem whose memory can be allocated for eigh but received an allocation failure (out of memory)',
      ),
    );
    // results of iterative solvers are allocated when the solve completes (OnOK)
    b.__injectFault('result', 'length_error');
    const { eigsh } = await import('../src/linalg/iterative.js');
    await expect(eigsh(randSym(400, 2), { k: 2 })).rejects.toThrow(
      internal('eigsh', 'injected fault (std::length_error)'),
    );
    expect(gramSync(randn(4, 3)).rows).toBe(4);
  });

  it('in a child process, with nothing caught: a clear error, not an abort', () => {
    const r = runNode(`${load}
b.__injectFault('kernel', 'length_error');
b.eigh({ data: new Float64Array([1, 0, 0, 1]), rows: 2, cols: 2 }, undefined, false);
`);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/specdyn internal error in eigh: injected fault \(std::length_error\)/);
    expect(r.stderr).not.toMatch(/terminate called/);
  });
});

describe('async rejections carry the caller stack', () => {
  it("a rejection from the thread pool names the caller's own function", async () => {
    const bad = randSym(200, 5);
    bad.data[7] = NaN;
    async function callerOfEighInTheTest(): Promise<unknown> {
      return eigh(bad);
    }
    const err = await callerOfEighInTheTest().catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toBe(
      'Expected finite values for a.data but received NaN at index 7 (row 0, column 7)',
    );
    expect((err as Error).stack).toMatch(/^RangeError: Expected finite values/);
    expect((err as Error).stack).toMatch(/callerOfEighInTheTest/);
  });
});

describe('one message dialect', () => {
  it('numbers read as String(x) writes them, in native messages too', () => {
    const a = randSym(20, 1);
    for (const k of [2.5, -0.1, 1e-7, 1.5e21, 0.1 + 0.2, 1 / 3, -1e-300, 123456789.125]) {
      expect(() => eigshSync(a, { k })).toThrow(
        new RangeError(expected('an integer in [1, 20]', "eigsh option 'k'", k)),
      );
    }
    expect(() => eighSync(a, { symmetryTolerance: -0.1 })).toThrow(
      new RangeError("Expected a non-negative number for eigh option 'symmetryTolerance' but received -0.1"),
    );
    expect(() => eighSync({ data: new Float64Array([1, 0.1, 0.30000000000000004, 1]), rows: 2, cols: 2 })).toThrow(
      new RangeError(
        'Expected a symmetric matrix (|a[i][j] - a[j][i]| <= 1e-10 * max|a|) for a but received a[0][1] = 0.1 and a[1][0] = 0.30000000000000004 (relative asymmetry 0.2)',
      ),
    );
    expect(() =>
      eigvalshSync({ data: new Float64Array([1, 0, 0, -3.5e39]), rows: 2, cols: 2 }, { precision: 'float32' }),
    ).toThrow(
      new RangeError(
        "Expected values within float32 range (|v| <= 3.4e38) for a.data (precision 'float32') but received -3.5e+39 at index 3",
      ),
    );
  });

  it('a tfjs Tensor-like passed as a Mat says how to pass it (TypeScript and native alike)', () => {
    const t = { shape: [3, 2], dtype: 'float32', dataSync: () => new Float32Array(6) };
    const msg =
      "Expected a Mat { data, rows, cols } for x but received a tfjs Tensor of shape [3, 2]; pass { data: t.dataSync(), rows: 3, cols: 2 } (a 2-D tensor's values, row-major)";
    expect(() => gramSync(t as never)).toThrow(new TypeError(msg));
    expect(() => checkMat(t, 'x')).toThrow(new TypeError(msg));
  });
});
