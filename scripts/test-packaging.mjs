#!/usr/bin/env node
// The package as a consumer gets it: `npm pack`, then fresh apps outside the clone.
//   pack       the tarball ships dist/, the prebuild, the native sources, binding.gyp, LICENSE,
//              README, CHANGELOG, docs/, and no tests, benches, examples, src/ or source maps
//   prebuild   ELF NEEDED and ldd of the shipped binary name no libopenblas/liblapack/libblas;
//              its size, the dynamic libraries it needs and the newest glibc symbol version
//   isolated   in a private mount namespace where every libopenblas/liblapack/libblas file is
//              hidden, the prebuild loads and computes (and, as a control, the dynamically
//              linked source build from (c) does not)
//   (a)        npm install <tarball> with default settings: the install hook finds the prebuild;
//              eigvalsh and distanceMatrix match independent computations; none of the optional
//              peers (TensorFlow.js, apache-arrow, vega, vega-lite) is installed, specdyn/tfjs
//              says what to install, specdyn/store imports and reads .npy while its run
//              functions name apache-arrow; tsc --strict on a TS consumer of specdyn and
//              specdyn/store; the installed size
//   (b)        npm install --ignore-scripts: the prebuild alone
//   (c)        the tarball without prebuilds/: the install hook builds from source (node-gyp)
//   (d)        as (c) with the BLAS headers hidden (SPECDYN_SYSTEM_INCLUDE_DIRS=<empty dir>):
//              the install fails with the one clear message
//   (e)        as (c) with --ignore-scripts: import works, the first call names `npm rebuild specdyn`
//   (f)        the app of (a) with the optional TensorFlow.js peers installed: loadTf picks
//              specdyn-native (require: 'specdyn-native') and a product is exact
// Prints a pass/fail summary and exits non-zero on any failure. Node builtins only (it spawns
// npm, tar, readelf, ldd, unshare). Usage: node scripts/test-packaging.mjs [--keep]
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const work = mkdtempSync(path.join(os.tmpdir(), 'specdyn-packaging-'));
const t0 = Date.now();
/** @type {{ name: string, ok: boolean, skipped?: boolean, detail: string, s?: number }[]} */
const results = [];
const facts = {};

// A clean environment for the child npm: nothing of an enclosing `npm run` leaks in.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
baseEnv.npm_config_audit = 'false';
baseEnv.npm_config_fund = 'false';
baseEnv.npm_config_update_notifier = 'false';
baseEnv.npm_config_prefer_offline = 'true';

/** @param {string} cmd @param {string[]} args @param {{ cwd?: string, env?: Record<string, string>, input?: string }} [opts] */
function sh(cmd, args, { cwd = work, env = {}, input } = {}) {
  const r = spawnSync(cmd, args, { cwd, env: { ...baseEnv, ...env }, encoding: 'utf8', input, maxBuffer: 64 << 20 });
  return { status: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '', error: r.error };
}

class Check extends Error {}
const check = (cond, msg) => {
  if (!cond) throw new Check(msg);
};

async function step(name, fn) {
  const start = Date.now();
  process.stdout.write(`[packaging] ${name} ... `);
  try {
    const detail = (await fn()) ?? '';
    const skipped = typeof detail === 'object' && detail.skip;
    results.push({ name, ok: true, skipped, detail: skipped ? detail.skip : detail, s: (Date.now() - start) / 1000 });
    console.log(
      `${skipped ? 'SKIP' : 'ok'} (${((Date.now() - start) / 1000).toFixed(1)} s)${detail ? `: ${skipped ? detail.skip : detail}` : ''}`,
    );
  } catch (err) {
    results.push({
      name,
      ok: false,
      detail: err instanceof Error ? err.message : String(err),
      s: (Date.now() - start) / 1000,
    });
    console.log(
      `FAIL (${((Date.now() - start) / 1000).toFixed(1)} s)\n${err instanceof Check ? err.message : (err?.stack ?? err)}`,
    );
  }
}

/** Bytes of a tree: apparent (sum of file sizes) and on disk (allocated blocks). */
function treeSize(dir) {
  let apparent = 0;
  let disk = 0;
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    const st = lstatSync(p);
    if (st.isDirectory()) {
      const s = treeSize(p);
      apparent += s.apparent;
      disk += s.disk;
    } else {
      apparent += st.size;
      disk += st.blocks * 512;
    }
  }
  return { apparent, disk };
}
const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`;

function newApp(name) {
  const dir = path.join(work, name);
  mkdirSync(dir);
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }, null, 2),
  );
  return dir;
}

// The consumer's check: specdyn against computations that share nothing with it (a cyclic
// Jacobi eigenvalue iteration and plain loops), and specdyn/tfjs without TensorFlow.js.
const CHECK_MJS = `
import { eigvalsh, eigvalshSync, distanceMatrix, nativeInfo } from 'specdyn';
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const n = 7;
const a = new Float64Array(n * n);
for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rand();
function jacobi(m, n) {
  const s = Float64Array.from(m);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += s[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) {
      const apq = s[p * n + q];
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (s[q * n + q] - s[p * n + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), sn = t * c;
      for (let k = 0; k < n; k++) {
        const skp = s[k * n + p], skq = s[k * n + q];
        s[k * n + p] = c * skp - sn * skq; s[k * n + q] = sn * skp + c * skq;
      }
      for (let k = 0; k < n; k++) {
        const spk = s[p * n + k], sqk = s[q * n + k];
        s[p * n + k] = c * spk - sn * sqk; s[q * n + k] = sn * spk + c * sqk;
      }
    }
  }
  return Array.from({ length: n }, (_, i) => s[i * n + i]).sort((x, y) => x - y);
}
const want = jacobi(a, n);
const got = await eigvalsh({ data: a, rows: n, cols: n });
const gotSync = eigvalshSync({ data: a, rows: n, cols: n });
const eigErr = Math.max(...want.map((w, i) => Math.max(Math.abs(got[i] - w), Math.abs(gotSync[i] - w))));
const rows = 9, cols = 5;
const x = new Float64Array(rows * cols).map(rand);
const d = await distanceMatrix({ data: x, rows, cols });
let distErr = 0;
for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) {
  let s = 0;
  for (let k = 0; k < cols; k++) s += (x[i * cols + k] - x[j * cols + k]) ** 2;
  distErr = Math.max(distErr, Math.abs(d.data[i * rows + j] - Math.sqrt(s)));
}
let tfjs;
try { await import('specdyn/tfjs'); tfjs = 'loaded'; } catch (e) { tfjs = e.constructor.name + ': ' + e.message; }
const info = nativeInfo();
console.log(JSON.stringify({ eigErr, distErr, shape: [d.rows, d.cols], tfjs, staticBlas: info.staticBlas, blas: info.blas }));
`;

// specdyn/store without apache-arrow: importing it and the array readers work; a run function
// throws the one missing-peer message, and nothing is written.
const STORE_MJS = `
import { existsSync } from 'node:fs';
import { createRun, openRun, parseNpy } from 'specdyn/store';
const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
const padded = header + ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\\n';
const bytes = new Uint8Array(10 + padded.length + 16);
bytes.set([0x93, 78, 85, 77, 80, 89, 1, 0, padded.length & 0xff, padded.length >> 8]);
bytes.set(Buffer.from(padded, 'latin1'), 10);
new Float64Array(bytes.buffer, 10 + padded.length, 2).set([1.5, -2]);
const npy = Array.from(parseNpy(bytes).data);
const messages = [];
for (const f of [() => createRun('new-run'), () => openRun('new-run')]) {
  try { await f(); messages.push('resolved'); } catch (e) { messages.push(e.constructor.name + ': ' + e.message); }
}
console.log(JSON.stringify({ npy, messages, wrote: existsSync('new-run') }));
`;

const CONSUMER_TS = `
import { eigvalsh, distanceMatrix, type Mat } from 'specdyn';
import { parseNpy, spectraSchema, type SpectraSchema } from 'specdyn/store';
export const readers: [typeof parseNpy, () => Promise<SpectraSchema>] = [parseNpy, spectraSchema];
const a: Mat = { data: new Float64Array([2, 1, 1, 2]), rows: 2, cols: 2 };
const w: Float64Array = await eigvalsh(a);
const d: Mat<Float64Array> = await distanceMatrix(a, { metric: 'euclidean' });
const first: number = w[0] ?? Number.NaN;
export const summary: string = \`\${first} \${d.rows}\`;
`;

/** Runs CHECK_MJS in app and asserts the numbers; returns its report. */
function runCheck(app, { expectStatic }) {
  writeFileSync(path.join(app, 'check.mjs'), CHECK_MJS);
  const r = sh(process.execPath, ['check.mjs'], { cwd: app });
  check(r.status === 0, `check.mjs failed (exit ${r.status}):\n${r.out}`);
  const rep = JSON.parse(r.stdout.trim().split('\n').pop());
  check(rep.eigErr <= 1e-12, `eigvalsh differs from the Jacobi eigenvalues by ${rep.eigErr} (tolerance 1e-12)`);
  check(rep.distErr <= 1e-12, `distanceMatrix differs from the direct distances by ${rep.distErr} (tolerance 1e-12)`);
  check(rep.shape[0] === 9 && rep.shape[1] === 9, `distanceMatrix shape ${rep.shape}`);
  check(
    /^SpecdynError: specdyn\/tfjs needs TensorFlow\.js.*Install it in your app: npm install @tensorflow\/tfjs@/.test(
      rep.tfjs,
    ),
    `specdyn/tfjs without TensorFlow.js: ${rep.tfjs}`,
  );
  check(
    !existsSync(path.join(app, 'node_modules', '@tensorflow')),
    'node_modules/@tensorflow exists: TensorFlow.js was installed',
  );
  for (const peer of ['apache-arrow', 'vega', 'vega-lite', 'fastify', 'bullmq', 'ioredis'])
    check(
      !existsSync(path.join(app, 'node_modules', peer)),
      `node_modules/${peer} exists: an optional peer was installed`,
    );
  check(rep.staticBlas === expectStatic, `nativeInfo().staticBlas is ${rep.staticBlas}, expected ${expectStatic}`);
  return rep;
}

function npmInstall(app, spec, args = [], env = {}) {
  return sh('npm', ['install', '--foreground-scripts', ...args, spec], { cwd: app, env });
}

let tarball;
let noPrebuild;
let prebuild;
let sourceBuilt;

await step('pack (npm pack: prepack builds dist/ and the prebuild if missing)', () => {
  const r = sh('npm', ['pack', '--json', '--pack-destination', work], { cwd: root });
  check(r.status === 0, `npm pack failed:\n${r.out}`);
  const info = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('[\n  {')))[0]; // after prepack's own output
  const packed = path.join(work, info.filename);
  const files = info.files.map((f) => f.path);
  const must = [
    'package.json',
    'README.md',
    'LICENSE',
    'CHANGELOG.md',
    'binding.gyp',
    'scripts/install.mjs',
    'scripts/native-sources.mjs',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/tfjs/index.js',
    'dist/train/index.js',
    'dist/store/index.js',
    'dist/store/index.d.ts',
    'native/addon.cc',
    'docs/install.md',
  ];
  for (const f of must) check(files.includes(f), `the tarball lacks ${f}`);
  check(
    files.some((f) => /^prebuilds\/linux-x64\/[^/]+\.node$/.test(f)) || process.platform !== 'linux',
    'the tarball has no prebuilds/linux-x64/*.node',
  );
  const bad = files.filter(
    (f) =>
      /^(test|bench|src|examples|\.ci)\//.test(f) ||
      /\.map$/.test(f) ||
      f === 'scripts/bootstrap.mjs' ||
      f === 'scripts/test-packaging.mjs',
  );
  check(bad.length === 0, `the tarball ships files the runtime does not need: ${bad.join(', ')}`);
  facts.tarball = `${info.filename}: ${mb(info.size)} packed, ${mb(info.unpackedSize)} unpacked, ${files.length} files`;
  // The same package without prebuilds/, for the source-build cases.
  const x = path.join(work, 'extract');
  mkdirSync(x);
  check(sh('tar', ['-xzf', packed, '-C', x]).status === 0, 'tar -x failed');
  prebuild = readdirSync(path.join(x, 'package', 'prebuilds', `${process.platform}-${process.arch}`))
    .map((f) => path.join(x, 'package', 'prebuilds', `${process.platform}-${process.arch}`, f))
    .find((f) => f.endsWith('.node'));
  const y = path.join(work, 'extract-noprebuild');
  mkdirSync(y);
  sh('tar', ['-xzf', packed, '-C', y]);
  rmSync(path.join(y, 'package', 'prebuilds'), { recursive: true, force: true });
  noPrebuild = path.join(work, 'specdyn-noprebuild.tgz');
  check(sh('tar', ['-czf', noPrebuild, '-C', y, 'package']).status === 0, 'tar -c failed');
  tarball = packed;
  return facts.tarball;
});

if (!tarball) results.push({ name: 'the remaining steps need the tarball', ok: false, detail: 'not run' });
else {
  await step('prebuild: no shared BLAS/LAPACK in ELF NEEDED or ldd', () => {
    check(prebuild, 'no prebuild in the tarball');
    const needed = [...sh('readelf', ['-d', prebuild]).out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map(
      (m) => m[1],
    );
    const ldd = sh('ldd', [prebuild]).out;
    check(needed.length > 0, 'readelf -d listed no NEEDED entries');
    check(!needed.some((l) => /blas|lapack/i.test(l)), `NEEDED lists ${needed.join(', ')}`);
    check(!/blas|lapack/i.test(ldd), `ldd lists a BLAS/LAPACK library:\n${ldd}`);
    check(!/not found/.test(ldd), `ldd: a dependency is missing here:\n${ldd}`);
    const versions = [...sh('readelf', ['-V', prebuild]).out.matchAll(/GLIBC_(\d+)\.(\d+)/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    versions.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
    const glibc = versions.length ? versions[versions.length - 1].join('.') : '?';
    const cxx = [...sh('readelf', ['-V', prebuild]).out.matchAll(/GLIBCXX_(\d+(?:\.\d+)*)/g)]
      .map((m) => m[1])
      .sort((p, q) => p.localeCompare(q, 'en', { numeric: true }))
      .pop();
    facts.prebuild = `${path.basename(prebuild)} ${mb(lstatSync(prebuild).size)} (stripped); NEEDED ${needed.join(', ')}; needs GLIBC_${glibc}, GLIBCXX_${cxx ?? '?'}`;
    return facts.prebuild;
  });

  await step(
    '(a) npm install <tarball> (defaults): prebuild found, answers right, no optional peers, specdyn/store names apache-arrow, tsc --strict',
    () => {
      const app = newApp('app-default');
      const r = npmInstall(app, tarball);
      check(r.status === 0, `npm install failed:\n${r.out}`);
      check(
        /\[specdyn\] using prebuilds\/linux-x64\//.test(r.out),
        `the install hook did not report the prebuild:\n${r.out}`,
      );
      check(
        !existsSync(path.join(app, 'node_modules', 'specdyn', 'build')),
        'a source build ran although the prebuild loads',
      );
      const rep = runCheck(app, { expectStatic: true });
      writeFileSync(path.join(app, 'store.mjs'), STORE_MJS);
      const st = sh(process.execPath, ['store.mjs'], { cwd: app });
      check(st.status === 0, `store.mjs failed (exit ${st.status}):\n${st.out}`);
      const srep = JSON.parse(st.stdout.trim().split('\n').pop());
      check(JSON.stringify(srep.npy) === '[1.5,-2]', `specdyn/store parseNpy gave ${srep.npy}`);
      const arrowMsg =
        /^SpecdynError: specdyn's run store needs apache-arrow, an optional peer dependency .*Install it in your app: npm install apache-arrow@\^\d/;
      for (const m of srep.messages) check(arrowMsg.test(m), `specdyn/store without apache-arrow: ${m}`);
      check(!srep.wrote, 'createRun without apache-arrow created the run directory');
      writeFileSync(path.join(app, 'consumer.ts'), CONSUMER_TS);
      writeFileSync(
        path.join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            types: [],
          },
          files: ['consumer.ts'],
        }),
      );
      const tsc = sh(
        process.execPath,
        [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
        { cwd: app },
      );
      check(tsc.status === 0, `tsc --strict on the TypeScript consumer failed:\n${tsc.out}`);
      const size = treeSize(path.join(app, 'node_modules'));
      const pkgs = readdirSync(path.join(app, 'node_modules')).filter((d) => !d.startsWith('.'));
      facts.installedSize = `${mb(size.apparent)} apparent, ${mb(size.disk)} on disk (node_modules: ${pkgs.join(', ')})`;
      return `eig err ${rep.eigErr.toExponential(1)}, dist err ${rep.distErr.toExponential(1)}; installed ${facts.installedSize}`;
    },
  );

  await step('(f) the app of (a) plus the TensorFlow.js peers: specdyn/tfjs computes on specdyn-native', () => {
    const app = path.join(work, 'app-default');
    check(existsSync(app), 'needs the app of (a)');
    const r = sh('npm', ['install', '@tensorflow/tfjs@4.22.0', '@tensorflow/tfjs-backend-wasm@4.22.0'], { cwd: app });
    check(r.status === 0, `npm install of the peers failed:\n${r.out}`);
    const script = `
    import { loadTf } from 'specdyn/tfjs';
    const { tf, backend } = await loadTf({ require: 'specdyn-native' });
    const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]), b = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const got = Array.from(await tf.matMul(a, b).data());
    console.log(JSON.stringify({ backend, active: tf.getBackend(), got }));`;
    const run = sh(process.execPath, ['--input-type=module', '-e', script], { cwd: app });
    check(run.status === 0, `loadTf failed:\n${run.out}`);
    const rep = JSON.parse(run.stdout.trim().split('\n').pop());
    check(
      rep.backend === 'specdyn-native' && rep.active === 'specdyn-native',
      `backend ${rep.backend} / ${rep.active}`,
    );
    // [[1,2,3],[4,5,6]] · [[1,0],[0,1],[1,1]] = [[4,5],[10,11]], exact in float32.
    check(JSON.stringify(rep.got) === '[4,5,10,11]', `matMul gave ${rep.got}`);
    return 'loadTf({ require: specdyn-native }) -> specdyn-native, matMul exact';
  });

  await step('(b) npm install --ignore-scripts: the prebuild alone', () => {
    const app = newApp('app-ignore-scripts');
    const r = npmInstall(app, tarball, ['--ignore-scripts']);
    check(r.status === 0, `npm install --ignore-scripts failed:\n${r.out}`);
    check(!/\[specdyn\]/.test(r.out), 'the install hook ran despite --ignore-scripts');
    runCheck(app, { expectStatic: true });
  });

  await step('(c) without the prebuild: the install hook builds from source with node-gyp', () => {
    const app = newApp('app-source');
    const r = npmInstall(app, noPrebuild);
    check(r.status === 0, `npm install (source build) failed:\n${r.out.slice(-4000)}`);
    check(
      /\[specdyn\] no prebuilt binary loads/.test(r.out) &&
        /\[specdyn\] built build\/Release\/specdyn\.node/.test(r.out),
      `the hook did not report a source build:\n${r.out.slice(-3000)}`,
    );
    check(!/npx|cmake-js/.test(r.out), 'the consumer install called npx or cmake-js');
    const gyp = /\[specdyn\] running: (\S+)/.exec(r.out)?.[1] ?? '?';
    sourceBuilt = path.join(app, 'node_modules', 'specdyn', 'build', 'Release', 'specdyn.node');
    runCheck(app, { expectStatic: false });
    return `node-gyp used: ${gyp}`;
  });

  await step('(d) without the prebuild and with the BLAS headers hidden: one clear message', () => {
    const app = newApp('app-no-headers');
    const empty = path.join(work, 'empty-include');
    mkdirSync(empty);
    const r = npmInstall(app, noPrebuild, [], { SPECDYN_SYSTEM_INCLUDE_DIRS: empty });
    check(r.status !== 0, 'the install succeeded although the headers are hidden');
    const msg =
      /specdyn: cannot build the native addon: missing [^\n]+\n(?:[^\n]*\n){1,6}?then run, in your app: npm rebuild specdyn/.exec(
        r.out,
      )?.[0];
    check(msg, `no clear message in the install output:\n${r.out}`);
    check(
      /OpenBLAS and LAPACKE development headers \(cblas\.h, lapacke\.h\)/.test(msg),
      `the message does not name the headers:\n${msg}`,
    );
    check(
      /apt-get install -y libopenblas-dev liblapacke-dev|dnf install|apk add|pacman|brew install/.test(msg),
      `the message names no OS package:\n${msg}`,
    );
    check(!/npx|gyp ERR/.test(r.out), `the output carries npx or node-gyp errors:\n${r.out}`);
    return msg.split('\n')[0];
  });

  await step(
    '(e) without the prebuild, --ignore-scripts: import works and the first call says `npm rebuild specdyn`',
    () => {
      const app = newApp('app-no-binary');
      const r = npmInstall(app, noPrebuild, ['--ignore-scripts']);
      check(r.status === 0, `npm install failed:\n${r.out}`);
      const run = sh(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "import * as s from 'specdyn'; try { s.eigvalshSync({ data: new Float64Array([1]), rows: 1, cols: 1 }); console.log('loaded?'); } catch (e) { console.log(e.constructor.name + ': ' + e.message.split('\\n')[0]); }",
        ],
        { cwd: app },
      );
      check(
        /^SpecdynError: specdyn: no compiled addon exists .*npm rebuild specdyn/.test(run.stdout),
        `unexpected: ${run.out}`,
      );
      return run.stdout.trim().slice(0, 120) + '...';
    },
  );

  await step('isolated: the prebuild loads with every libopenblas/liblapack/libblas hidden', () => {
    if (process.platform !== 'linux') return { skip: 'Linux only' };
    const libs = new Set();
    for (const d of [
      '/lib',
      '/usr/lib',
      '/usr/lib64',
      '/usr/local/lib',
      '/lib/x86_64-linux-gnu',
      '/usr/lib/x86_64-linux-gnu',
      '/usr/lib/aarch64-linux-gnu',
    ]) {
      const walk = (dir, depth) => {
        if (!existsSync(dir) || depth > 2) return;
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          const p = path.join(dir, e.name);
          if (e.isDirectory()) walk(p, depth + 1);
          else if (/^lib(open)?c?blas|^liblapack/.test(e.name) && /\.so/.test(e.name)) {
            try {
              libs.add(realpathSync(p));
            } catch {}
          }
        }
      };
      walk(d, 0);
    }
    if (libs.size === 0) return 'no BLAS/LAPACK library on this system at all';
    const probe = (bin) =>
      `const a = require(${JSON.stringify(bin)}); const w = a.eigvalsh({ data: new Float64Array([2, 1, 1, 2]), rows: 2, cols: 2 }, undefined, false); console.log(Math.abs(w[0] - 1) < 1e-12 && Math.abs(w[1] - 3) < 1e-12 ? 'computed' : 'wrong');`;
    const script =
      [...libs].map((l) => `mount --bind /dev/null ${JSON.stringify(l)}`).join(' && ') +
      ` && ${JSON.stringify(process.execPath)} -e ${JSON.stringify(probe(prebuild))}` +
      (sourceBuilt && existsSync(sourceBuilt)
        ? ` && { ${JSON.stringify(process.execPath)} -e ${JSON.stringify(probe(sourceBuilt))} 2>&1 | grep -m1 -iE 'error|computed' | sed 's/^/control: /'; true; }`
        : '');
    const r = sh('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script]);
    if (r.status !== 0 && /unshare|Operation not permitted|permission denied/i.test(r.out) && !/computed/.test(r.out)) {
      return { skip: `no private mount namespace here (${r.out.trim().split('\n')[0]}); NEEDED/ldd above stand alone` };
    }
    check(/^computed$/m.test(r.out), `the prebuild did not load/compute with BLAS hidden:\n${r.out}`);
    if (sourceBuilt && existsSync(sourceBuilt))
      check(
        /control: .*(cannot open|file too short|invalid ELF|No such file)/i.test(r.out),
        `control: the dynamically linked build still loaded, so the hiding did not work:\n${r.out}`,
      );
    return `${libs.size} library files hidden; control (shared-BLAS source build): ${/control: (.*)/.exec(r.out)?.[1]?.slice(0, 90) ?? 'n/a'}`;
  });
}

const failed = results.filter((r) => !r.ok);
console.log(`\n== packaging summary (${((Date.now() - t0) / 1000).toFixed(0)} s, work dir ${keep ? work : 'removed'})`);
for (const r of results) console.log(`${r.ok ? (r.skipped ? 'SKIP' : 'PASS') : 'FAIL'}  ${r.name}`);
for (const [k, v] of Object.entries(facts)) console.log(`  ${k}: ${v}`);
console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
if (!keep) rmSync(work, { recursive: true, force: true });
process.exit(failed.length ? 1 : 0);
