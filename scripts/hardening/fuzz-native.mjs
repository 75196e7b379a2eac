#!/usr/bin/env node
// Fuzzes the native kernels with libFuzzer (Debian's clang-14) for a bounded time per target,
// and the N-API argument checks from JavaScript (libFuzzer cannot reach them without Node).
//
//   1. Needs clang++ and libFuzzer: when missing, `node scripts/bootstrap.mjs --fuzz` installs
//      them (apt: clang-14 libclang-rt-14-dev).
//   2. Builds build-fuzz/ (plain cmake, -DSPECDYN_FUZZ=ON: the kernels' static library with
//      ASan + UBSan + fuzzer coverage, one executable per fuzz/<target>.cc).
//   3. Runs every target for --seconds (default 20) from a copy of its regression corpus
//      fuzz/corpus/<target>/, and prints "fuzz <target>: N execs, C crashes". A crash input is
//      copied into fuzz/corpus/<target>/ (so the corpus replay test keeps it once fixed).
//      --update-corpus merges the inputs that reached new coverage into the corpus (-merge=1).
//   4. "fuzz napi-args": random shapes, offsets, types and option values into every linalg
//      function through the addon, in a child process (--calls, default 20000): every call
//      returns or throws a specdyn error, and the process neither crashes nor hangs.
// Exits non-zero on any crash. Usage:
//   node scripts/hardening/fuzz-native.mjs [--seconds 20] [--calls 20000] [--update-corpus] [target...]
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const [v] = argv.splice(i, 2).slice(1);
  return Number(v);
};
const seconds = opt('--seconds', 20);
const calls = opt('--calls', 20000);
const update = argv.includes('--update-corpus');
const only = argv.filter((a) => !a.startsWith('--'));
const TARGETS = ['gram', 'distance', 'eigen', 'svd', 'eigsh', 'density', 'sgemm', 'elementwise', 'format'];
const env = { ...process.env, OPENBLAS_NUM_THREADS: '1' };
let failures = 0;

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
const clang = ['clang++-14', 'clang++'].find(have);
const fuzzRuntime = () =>
  spawnSync('sh', ['-c', 'ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a'], { stdio: 'ignore' })
    .status === 0;
if (!clang || !fuzzRuntime()) {
  console.error('[fuzz] clang or libFuzzer missing: node scripts/bootstrap.mjs --fuzz');
  spawnSync(process.execPath, [path.join(root, 'scripts/bootstrap.mjs'), '--fuzz'], { cwd: root, stdio: 'inherit' });
}
const cxx = ['clang++-14', 'clang++'].find(have);

function runLibFuzzer() {
  if (!cxx) {
    console.log('fuzz build: clang++ not available');
    failures++;
    return;
  }
  const build = path.join(root, 'build-fuzz');
  const gen = have('ninja') ? ['-G', 'Ninja'] : [];
  let r = spawnSync(
    'cmake',
    ['-S', root, '-B', build, ...gen, '-DSPECDYN_FUZZ=ON', `-DCMAKE_CXX_COMPILER=${cxx}`, '-DCMAKE_BUILD_TYPE=Release'],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status === 0)
    r = spawnSync('cmake', ['--build', build, '-j', '1'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) {
    console.log('fuzz build: failed');
    failures++;
    return;
  }
  for (const target of TARGETS.filter((t) => only.length === 0 || only.includes(t))) {
    const corpus = path.join(root, 'fuzz/corpus', target);
    mkdirSync(corpus, { recursive: true });
    const work = mkdtempSync(path.join(os.tmpdir(), `specdyn-fuzz-${target}-`));
    const crashes = path.join(work, 'crashes');
    mkdirSync(crashes);
    mkdirSync(path.join(work, 'corpus'));
    const exe = path.join(build, `fuzz_${target}`);
    const run = spawnSync(
      exe,
      [
        `-max_total_time=${seconds}`,
        '-timeout=20',
        '-rss_limit_mb=2048',
        '-max_len=2048',
        '-print_final_stats=1',
        `-artifact_prefix=${crashes}/`,
        path.join(work, 'corpus'),
        corpus,
      ],
      { cwd: work, env, encoding: 'utf8', maxBuffer: 256 << 20 },
    );
    const out = `${run.stdout}\n${run.stderr}`;
    const execs = Number(
      /stat::number_of_executed_units:\s*(\d+)/.exec(out)?.[1] ?? /Done (\d+) runs/.exec(out)?.[1] ?? 0,
    );
    const found = readdirSync(crashes);
    for (const f of found) copyFileSync(path.join(crashes, f), path.join(corpus, f));
    const crashed = found.length > 0 || (run.status !== 0 && run.status !== null && execs === 0) || run.signal;
    console.log(
      `fuzz ${target}: ${execs} execs, ${found.length} crashes${crashed && !found.length ? ' (fuzzer failed)' : ''}`,
    );
    if (crashed) {
      failures++;
      const at = out.search(/ERROR: |==\d+==|invariant failed|runtime error/);
      console.error(out.slice(Math.max(0, at), at + 3000));
    }
    if (update) {
      spawnSync(exe, ['-merge=1', corpus, path.join(work, 'corpus')], { cwd: work, env, stdio: 'ignore' });
    }
    rmSync(work, { recursive: true, force: true });
  }
}

// The napi layer: seeded random calls in a child process (a crash there is an exit by signal).
function runNapiArgs() {
  if (only.length && !only.includes('napi-args')) return;
  const r = spawnSync(process.execPath, [path.join(root, 'fuzz/napi-args.mjs'), String(calls)], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 600_000,
  });
  const stats = /(\d+) calls, (\d+) returned, (\d+) refused, (\d+) unexpected/.exec(r.stdout ?? '');
  const ok = r.status === 0 && !r.signal && stats && stats[4] === '0';
  console.log(
    `fuzz napi-args: ${stats ? stats[1] : 0} calls, ${ok ? 0 : 1} crashes${stats ? ` (${stats[2]} returned, ${stats[3]} refused, ${stats[4]} unexpected errors)` : ''}`,
  );
  if (!ok) {
    failures++;
    console.error(`${r.stdout}\n${r.stderr}`.slice(-4000), r.signal ?? '');
  }
}

if (existsSync(path.join(root, 'fuzz'))) runLibFuzzer();
runNapiArgs();
process.exit(failures ? 1 : 0);
