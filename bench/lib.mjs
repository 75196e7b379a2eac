// Shared benchmark harness: medians, same-run rivals, Python (NumPy/SciPy/scikit-learn) probes,
// a printed table and JSON results in bench/results/. Every figure is a ratio against a rival
// measured in the same run, because wall-clock numbers on shared machines are noisy.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const PYTHON = process.env.SPECDYN_PYTHON ?? '/usr/bin/python3';

/**
 * The command line's `--size <n[,n…]>` (sizes a suite measures instead of its defaults) and
 * `--repeat <n>` (timed runs per figure), which bench/run.mjs passes on in SPECDYN_BENCH_SIZE and
 * SPECDYN_BENCH_REPEAT so that child processes see them too (a script run alone reads its own
 * command line).
 */
export function benchSizes(defaults) {
  const v = process.env.SPECDYN_BENCH_SIZE ?? flag('size');
  return v ? v.split(',').map(Number) : defaults;
}
/** See {@link benchSizes}. */
export function benchRepeat(fallback) {
  const v = process.env.SPECDYN_BENCH_REPEAT ?? flag('repeat');
  return v ? Number(v) : fallback;
}

let rivals;
/**
 * The Python builds to measure as rivals: Debian's (PYTHON, NumPy/SciPy on the same OpenBLAS as
 * specdyn) and the `python3` first on PATH when it is another interpreter (newer wheels with
 * their own OpenBLAS), each with the versions it imports ({ label, exe, numpy, scipy, sklearn });
 * a build without NumPy and SciPy is left out. SPECDYN_PYTHON_WHEELS names the second one.
 */
export function pythonRivals() {
  if (rivals) return rivals;
  const probe = (exe) => {
    const r = spawnSync(exe, ['-c', PROBE], { encoding: 'utf8' });
    return r.status === 0 ? { ...JSON.parse(r.stdout.trim().split('\n').pop()) } : undefined;
  };
  rivals = [];
  const debian = probe(PYTHON);
  if (debian?.numpy && debian.scipy) rivals.push({ label: 'Debian', exe: PYTHON, ...debian });
  const other = process.env.SPECDYN_PYTHON_WHEELS ?? 'python3';
  const wheels = probe(other);
  if (wheels?.numpy && wheels.scipy && wheels.executable !== debian?.executable)
    rivals.push({ label: 'wheels', exe: other, ...wheels });
  return rivals;
}

/**
 * The value of a command-line flag `--name value` (or `--name=value`) given to bench/run.mjs,
 * or `fallback` when absent.
 * @param {string} name
 * @param {string} [fallback]
 */
export function flag(name, fallback) {
  const argv = process.argv;
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === `--${name}` && i + 1 < argv.length) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  return fallback;
}

/** A monotonic time stamp for {@link since}. */
export const now = () => process.hrtime.bigint();
/** Seconds since the stamp `t0` of {@link now}. */
export const since = (t0) => Number(now() - t0) / 1e9;
/** The 1-, 5- and 15-minute load averages as text, e.g. '1.02 0.87 0.66'. */
export const loadText = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

/** Median seconds of `repeat` timed runs after `warmup` untimed ones. fn may be async. */
export async function timeit(fn, { repeat = 5, warmup = 1 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { median: median(times), min: Math.min(...times), times };
}

const PROBE = `import json,importlib,os,sys
out={'executable': os.path.realpath(sys.executable)}
for m in ['numpy','scipy','sklearn']:
    try:
        mod=importlib.import_module(m); out[m]=getattr(mod,'__version__','?')
    except Exception: out[m]=None
print(json.dumps(out))`;

let pyStatus;
/** Which Python modules are importable: { numpy, scipy, sklearn } booleans, plus versions. */
export function pythonAvailable() {
  if (pyStatus) return pyStatus;
  const r = spawnSync(PYTHON, ['-c', PROBE], { encoding: 'utf8' });
  pyStatus = r.status === 0 ? JSON.parse(r.stdout) : { numpy: null, scipy: null, sklearn: null };
  return pyStatus;
}

/**
 * Runs a Python snippet that prints one JSON object on its last line; returns it parsed.
 * The snippet gets `timeit(fn, repeat, warmup)` → median seconds.
 */
export function runPython(body, { timeoutMs = 20 * 60_000, python = PYTHON } = {}) {
  const prelude = `import json, time, statistics
def timeit(fn, repeat=5, warmup=1):
    for _ in range(warmup): fn()
    ts=[]
    for _ in range(repeat):
        t0=time.perf_counter(); fn(); ts.append(time.perf_counter()-t0)
    return statistics.median(ts)
`;
  const r = spawnSync(python, ['-c', prelude + body], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr || r.error}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** Prints rows as an aligned table. */
export function printTable(title, rows) {
  console.log(`\n## ${title}\n`);
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const fmt = (v) =>
    typeof v === 'number'
      ? Math.abs(v) >= 100
        ? v.toFixed(1)
        : Math.abs(v) >= 1
          ? v.toFixed(3)
          : v.toPrecision(3)
      : String(v);
  const cells = rows.map((r) => cols.map((c) => fmt(r[c])));
  const w = cols.map((c, j) => Math.max(c.length, ...cells.map((r) => r[j].length)));
  console.log('| ' + cols.map((c, j) => c.padEnd(w[j])).join(' | ') + ' |');
  console.log('| ' + w.map((x) => '-'.repeat(x)).join(' | ') + ' |');
  for (const r of cells) console.log('| ' + r.map((v, j) => v.padEnd(w[j])).join(' | ') + ' |');
}

/** Writes bench/results/<name>-<timestamp>.json and returns the path. */
export function writeResults(name, payload) {
  const dir = path.join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `${name}-${stamp}.json`);
  writeFileSync(file, JSON.stringify({ name, date: new Date().toISOString(), ...payload }, null, 2));
  return file;
}

/** Seeded uniform [0,1) generator (mulberry32) for reproducible benchmark inputs. */
export function rng(seed = 1) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A rows x cols Float64Array (or Float32Array) of standard normals.
 * @param {number} rows
 * @param {number} cols
 * @param {number} [seed]
 * @param {Float64ArrayConstructor | Float32ArrayConstructor} [Type]
 */
export function gaussian(rows, cols, seed = 1, Type = Float64Array) {
  const u = rng(seed);
  const data = new Type(rows * cols);
  for (let i = 0; i < data.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u())),
      t = 2 * Math.PI * u();
    data[i] = r * Math.cos(t);
    if (i + 1 < data.length) data[i + 1] = r * Math.sin(t);
  }
  return { data, rows, cols };
}
