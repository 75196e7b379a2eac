// Fault injection for the run store (docs/reliability.md): writers SIGKILLed at random points,
// a full disk (a 1 MiB tmpfs; RLIMIT_FSIZE when mounting is refused), a read-only run directory,
// two writers racing for one directory. Every snapshot whose flush resolved must read back
// exactly; every failure must be a documented error with a clear message.
//
//   node scripts/hardening/store-faults.mjs [--trials 200] [--checks kill,monitor,diskfull,readonly,writers]
//                                           [--store <store/index.js>] [--seed 1]
//
// --store picks the store module (default dist/store/index.js; the unit tests pass transpiled
// sources). The script re-runs itself as the child writer (`--child <mode>`).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { budgetSeconds, Checks, prng, root, runNode } from './lib/report.mjs';

const { values: args } = parseArgs({
  options: {
    trials: { type: 'string' },
    checks: { type: 'string', default: 'kill,monitor,diskfull,readonly,writers' },
    store: { type: 'string' },
    seed: { type: 'string', default: '1' },
    child: { type: 'string' },
    dir: { type: 'string' },
    races: { type: 'string' },
  },
});
const storeFile = path.resolve(args.store ?? path.join(root, 'dist', 'store', 'index.js'));
const store = await import(pathToFileURL(storeFile).href);
const SELF = path.resolve(new URL(import.meta.url).pathname);

// ---------------------------------------------------------------------------------------------
// Snapshot content: a function of (seed, step) only, so the parent can check what it reads.

/** Array length of snapshot `step` of trial `seed` (0 .. 40 000 values: writes that take time). */
function lengthOf(seed, step) {
  return Math.floor(prng(seed * 7919 + step)() * 40_000);
}

function snap(seed, step, observable = 'h1') {
  const len = lengthOf(seed, step);
  const values = new Float64Array(len);
  for (let i = 0; i < len; i++) values[i] = Math.sin(seed + step * 1000 + i);
  const m = { data: Float32Array.from({ length: 6 }, (_, i) => step + i / 8), rows: 2, cols: 3 };
  return {
    step,
    logs: { loss: 1 / (step + 1) },
    observables: [
      {
        observable,
        family: 'omd',
        row: { step_sq: step * step, inf: Number.POSITIVE_INFINITY, tag: `s${step}` },
        arrays: len > 0 ? { values, m } : { m },
      },
      { observable: `${observable}/kernel`, family: 'weights', row: { alpha: step + 0.5 } },
    ],
  };
}

/** Why snapshot `step` of `run` differs from snap(seed, step), or '' when it is exact. */
function diff(run, seed, step, observable = 'h1') {
  const row = run.rows({ family: 'omd', observable, step })[0];
  if (!row) return `step ${step}: no omd row`;
  if (row.step_sq !== step * step || row.inf !== Number.POSITIVE_INFINITY || row.tag !== `s${step}`)
    return `step ${step}: omd row ${JSON.stringify(row)}`;
  if (
    run.rows({ family: 'weights', step }).filter((r) => r.observable === `${observable}/kernel`)[0]?.alpha !==
    step + 0.5
  )
    return `step ${step}: weights row`;
  if (run.rows({ family: 'logs', step })[0]?.loss !== 1 / (step + 1)) return `step ${step}: logs row`;
  const len = lengthOf(seed, step);
  const v = run.array(step, observable, 'values');
  if (len > 0) {
    if (!(v instanceof Float64Array) || v.length !== len) return `step ${step}: values length ${v?.length}`;
    for (let i = 0; i < len; i++) if (v[i] !== Math.sin(seed + step * 1000 + i)) return `step ${step}: values[${i}]`;
  } else if (v !== undefined) return `step ${step}: unexpected values`;
  const m = run.array(step, observable, 'm');
  if (m?.rows !== 2 || m.cols !== 3 || !(m.data instanceof Float32Array) || m.data[5] !== step + 5 / 8)
    return `step ${step}: m`;
  return '';
}

/** What readers may report dropping after a crash (anything else is a finding). */
const KNOWN_PROBLEMS = [
  /^steps\.jsonl: dropped a torn last line \(\d+ bytes\)$/,
  /^steps\.jsonl: dropped \d+ line\(s\) of flushes whose Arrow batch was never completed$/,
  /^spectra-\d+\.arrow: dropped a torn trailing Arrow message \(\d+ bytes\)( after \d+ complete batches)?$/,
];

const isDocumented = (e) =>
  e instanceof TypeError || e instanceof RangeError || e instanceof store.SpecdynError || e?.name === 'SpecdynError';

// ---------------------------------------------------------------------------------------------
// Child modes (this script re-run with --child).

const out = (s) => process.stdout.write(`${s}\n`);

async function childWriter(dir, seed) {
  const rnd = prng(seed);
  const durable = rnd() < 0.5;
  const total = 6 + Math.floor(rnd() * 14);
  const w = await store.createRun(dir, { config: { seed }, durable });
  out('ready');
  let step = 0;
  while (step < total) {
    const k = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < k && step < total; i++) w.append(snap(seed, step++));
    await w.flush();
    out(`ack ${step}`);
  }
  await w.close();
  out('closed');
}

async function childMonitor(dir, seed) {
  const { loadTf } = await import(pathToFileURL(path.join(path.dirname(storeFile), '..', 'tfjs', 'index.js')).href);
  const { SpectralMonitor } = await import(
    pathToFileURL(path.join(path.dirname(storeFile), '..', 'train', 'index.js')).href
  );
  const { tf } = await loadTf({ backend: 'specdyn-native' });
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [6], units: 12, activation: 'tanh', name: 'h1' }));
  model.add(tf.layers.dense({ units: 3, name: 'out' }));
  model.compile({ optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError' });
  const rnd = prng(seed);
  const x = tf.tensor2d(
    Float32Array.from({ length: 32 * 6 }, () => rnd() - 0.5),
    [32, 6],
  );
  const y = tf.tensor2d(
    Float32Array.from({ length: 32 * 3 }, () => rnd() - 0.5),
    [32, 3],
  );
  const monitor = new SpectralMonitor(model, {
    probes: x.slice([0, 0], [16, 6]),
    schedule: { every: 1 },
    run: dir,
    keep: false,
    tf,
  });
  out('ready');
  for (let step = 0; step < 24; step++) {
    if (step > 0) await model.trainOnBatch(x, y);
    await monitor.capture(step, { loss: 1 });
    out(`ack ${monitor.stats.analysed}`);
  }
  await monitor.close();
  out(`ack ${monitor.stats.analysed}`);
  out('closed');
}

/** Fills the disk under `dir`, then checks what the store does (prints one JSON result line). */
async function childDiskFull(dir) {
  const r = { acked: 0, errors: [], notes: [] };
  const ballast = path.join(dir, 'ballast');
  fs.writeFileSync(ballast, Buffer.alloc(192 * 1024, 1));
  const runDir = path.join(dir, 'run');
  const seed = 5;
  const w = await store.createRun(runDir, { durable: true });
  let step = 0;
  let full;
  for (; step < 10_000; ) {
    w.append(snap(seed, step++));
    try {
      await w.flush();
      r.acked = step;
    } catch (e) {
      full = e;
      break;
    }
  }
  r.fullError = full && { documented: isDocumented(full), message: full.message, code: full.cause?.code };
  r.pendingAfterFull = w.pending;
  try {
    await w.flush();
    r.errors.push('a second flush on the full disk resolved');
  } catch (e) {
    if (!isDocumented(e)) r.errors.push(`second flush: undocumented ${e?.name}: ${e?.message}`);
  }
  // A reader sees exactly the acknowledged snapshots, with nothing torn (the flush was undone).
  const live = await store.openRun(runDir);
  r.liveSteps = live.steps.length;
  r.liveProblems = live.problems;
  // Space comes back: the pending snapshots commit on the next flush.
  fs.rmSync(ballast);
  try {
    await w.flush();
    r.acked = step;
    r.retried = true;
  } catch (e) {
    r.errors.push(`flush after freeing space: ${e?.message}`);
  }
  // Fill it again and close on a full disk: the close is refused clearly, the lock released.
  let closeError;
  for (let i = 0; i < 10_000; i++) {
    w.append(snap(seed, step++));
    try {
      await w.flush();
      r.acked = step;
    } catch {
      break;
    }
  }
  try {
    await w.close();
  } catch (e) {
    closeError = e;
  }
  r.closeError = closeError && { documented: isDocumented(closeError), message: closeError.message };
  r.lockLeft = fs.existsSync(path.join(runDir, store.LOCK_FILE));
  r.tempsLeft = fs.readdirSync(runDir).filter((n) => n.endsWith('.tmp'));
  const after = await store.openRun(runDir);
  r.afterSteps = after.steps.length;
  r.afterStatus = after.status;
  for (const s of after.steps) {
    const d = diff(after, seed, s);
    if (d) r.errors.push(d);
  }
  // A new run on the full disk (filled to the last page): a clear error and no litter.
  const filler = fs.openSync(path.join(dir, 'filler'), 'w');
  for (const chunk of [65536, 4096, 512, 1]) {
    const buf = Buffer.alloc(chunk, 2);
    try {
      for (;;) fs.writeSync(filler, buf);
    } catch {
      // ENOSPC at this chunk size: try a smaller one
    }
  }
  fs.closeSync(filler);
  const fresh = path.join(dir, 'fresh');
  try {
    await store.createRun(fresh, {});
    r.errors.push('createRun on a full disk resolved');
  } catch (e) {
    r.createError = { documented: isDocumented(e), message: e.message };
  }
  r.freshLeft = fs.existsSync(fresh) ? fs.readdirSync(fresh) : [];
  out(JSON.stringify(r));
}

async function childTwoWriters(dir, tag, delayMs, count) {
  await new Promise((res) => setTimeout(res, delayMs));
  let w;
  try {
    w = await store.createRun(dir, { config: { race: true } });
  } catch (e) {
    out(`refused ${isDocumented(e) ? 'documented' : 'undocumented'} ${JSON.stringify(e.message)}`);
    return;
  }
  out(`session ${w.session}`);
  for (let i = 0; i < count; i++) {
    w.append(snap(11, i, tag));
    await w.flush();
    out(`ack ${i + 1}`);
  }
  await w.close();
  out('closed');
}

if (args.child) {
  const seed = Number(args.seed);
  if (args.child === 'writer') await childWriter(args.dir, seed);
  else if (args.child === 'monitor') await childMonitor(args.dir, seed);
  else if (args.child === 'diskfull') await childDiskFull(args.dir);
  else if (args.child.startsWith('race:')) {
    const [, tag, delay, count] = args.child.split(':');
    await childTwoWriters(args.dir, tag, Number(delay), Number(count));
  }
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Parent: the checks.

const checks = new Checks();
const wanted = new Set(args.checks.split(','));
const budget = budgetSeconds(240);
const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-faults-'));
const childArgs = (mode, dir, seed) => [
  SELF,
  '--store',
  storeFile,
  '--child',
  mode,
  '--dir',
  dir,
  '--seed',
  String(seed),
];

/**
 * Restart check shared by the kill trials: a new session recovers the run, every snapshot read
 * before still reads the same, and the next step commits.
 */
async function restartAndCheck(mode, dir, seed, present) {
  const w = await store.createRun(dir, { config: mode === 'writer' ? { seed } : undefined });
  w.append(mode === 'writer' ? snap(seed, present) : snap(seed, present, 'restart'));
  await w.close();
  const run = await store.openRun(dir);
  const problems = [];
  for (let s = 0; s < present; s++) {
    const d = mode === 'writer' ? diff(run, seed, s) : monitorDiff(run, s);
    if (d) problems.push(`after restart: ${d}`);
  }
  const d = diff(run, seed, present, mode === 'writer' ? 'h1' : 'restart');
  if (d) problems.push(`restart snapshot: ${d}`);
  if (run.status !== 'finished') problems.push(`restart status ${run.status}`);
  if (run.problems.length > 0) problems.push(`restart problems ${run.problems.join('; ')}`);
  if (run.steps.length !== present + 1) problems.push(`restart steps ${run.steps.length} ≠ ${present + 1}`);
  for (const name of fs.readdirSync(dir)) {
    if (name.endsWith('.tmp')) problems.push(`temp file left: ${name}`);
    if (
      /^spectra-\d+\.arrow$/.test(name) &&
      fs.readFileSync(path.join(dir, name)).subarray(0, 6).toString() !== 'ARROW1'
    )
      problems.push(`${name} not sealed`);
  }
  return problems;
}

/** One SIGKILL trial. Returns { acked, present, lost, corrupt, midFlush, problems[] }. */
async function killTrial(mode, seed, timing) {
  const dir = path.join(scratch, `kill-${mode}-${seed}`);
  const rnd = prng(seed ^ 0x5eed);
  const fromSpawn = rnd() < 0.2;
  const delay = fromSpawn ? rnd() * timing.startup : rnd() * timing.work;
  let acked = 0,
    closed = false,
    killed = false;
  let timer;
  const kill = (child) => {
    if (killed || closed) return;
    killed = true;
    child.kill('SIGKILL');
  };
  const res = await runNode(childArgs(mode, dir, seed), {
    timeoutMs: 120_000,
    onSpawn: (child) => {
      if (fromSpawn) timer = setTimeout(() => kill(child), delay);
    },
    onLine: (line, child) => {
      const m = /^ack (\d+)$/.exec(line);
      if (m) acked = Math.max(acked, Number(m[1]));
      if (line === 'closed') closed = true;
      if (line === 'ready' && !fromSpawn) timer = setTimeout(() => kill(child), delay);
    },
  });
  clearTimeout(timer);
  const problems = [];
  if (!killed && !closed)
    problems.push(`child ended by itself without closing (code ${res.code}): ${res.stderr.slice(-300)}`);
  let run;
  try {
    run = await store.openRun(dir);
  } catch (e) {
    // Killed before run.json existed: legitimate only when nothing was acknowledged.
    if (!(acked === 0 && isDocumented(e) && /has no run\.json|does not exist/.test(e.message)))
      problems.push(`openRun: ${e?.name}: ${e?.message}`);
    if (fs.existsSync(dir)) {
      const left = fs.readdirSync(dir).filter((n) => n !== store.LOCK_FILE && !n.startsWith('.'));
      if (left.length > 0 && acked === 0 && !run) problems.push(`left without run.json: ${left.join(', ')}`);
    }
    const restart = problems.length === 0 ? await restartAndCheck(mode, dir, seed, 0) : [];
    fs.rmSync(dir, { recursive: true, force: true });
    return { acked, present: 0, lost: acked, corrupt: 0, midFlush: false, problems: [...problems, ...restart] };
  }
  const steps = run.steps;
  const present = steps.length;
  if (!steps.every((s, i) => s === i)) problems.push(`steps not a prefix: ${steps.join(',')}`);
  const lost = Math.max(0, acked - present);
  let corrupt = 0;
  for (const s of steps) {
    const d = mode === 'writer' ? diff(run, seed, s) : monitorDiff(run, s);
    if (d) {
      corrupt++;
      problems.push(d);
    }
  }
  for (const p of run.problems) if (!KNOWN_PROBLEMS.some((re) => re.test(p))) problems.push(`unknown problem: ${p}`);
  if (closed && (run.status !== 'finished' || run.problems.length > 0)) problems.push(`closed but ${run.status}`);
  // Killed after close() resolved but before its 'closed' line was read: finished, and clean.
  if (!closed && run.status !== 'interrupted' && !(run.status === 'finished' && run.problems.length === 0))
    problems.push(`killed but status ${run.status}`);
  const midFlush = run.problems.length > 0;
  problems.push(...(await restartAndCheck(mode, dir, seed, present)));
  fs.rmSync(dir, { recursive: true, force: true });
  return { acked, present, lost, corrupt, midFlush, problems };
}

/** Completeness of one monitor snapshot: an OMD row and arrays for h1, a weights row per kernel, logs. */
function monitorDiff(run, step) {
  const omd = run.rows({ family: 'omd', observable: 'h1', step });
  if (omd.length !== 1 || typeof omd[0].perron !== 'number') return `monitor step ${step}: omd row`;
  const w = run.rows({ family: 'weights', step });
  if (w.length !== 2) return `monitor step ${step}: ${w.length} weight rows`;
  const values = run.array(step, 'h1', 'values');
  if (!(values instanceof Float64Array) || values.length !== 16) return `monitor step ${step}: values`;
  return '';
}

/** Times one full child run (no kill): startup (spawn → ready) and work (ready → closed). */
async function calibrate(mode) {
  const dir = path.join(scratch, `calibrate-${mode}`);
  const t0 = performance.now();
  let ready = 0;
  const res = await runNode(childArgs(mode, dir, 424242), {
    onLine: (line) => {
      if (line === 'ready') ready = performance.now();
    },
  });
  if (res.code !== 0 || !ready) throw new Error(`calibration child failed (${res.code}): ${res.stderr.slice(-500)}`);
  fs.rmSync(dir, { recursive: true, force: true });
  return { startup: ready - t0, work: (performance.now() - ready) * 1.15 };
}

async function killCheck(mode, trials, share) {
  const timing = await calibrate(mode);
  const deadline = elapsed() + share;
  const sum = { trials: 0, acked: 0, lost: 0, corrupt: 0, midFlush: 0, findings: [] };
  const seeds = Array.from(
    { length: trials },
    (_, i) => Number(args.seed) * 100_000 + i + (mode === 'monitor' ? 50_000 : 0),
  );
  const worker = async () => {
    while (seeds.length > 0 && elapsed() < deadline) {
      const seed = seeds.shift();
      const r = await killTrial(mode, seed, timing);
      sum.trials++;
      sum.acked += r.acked;
      sum.lost += r.lost;
      sum.corrupt += r.corrupt;
      if (r.midFlush) sum.midFlush++;
      if (r.problems.length > 0) sum.findings.push(`seed ${seed}: ${r.problems.slice(0, 3).join('; ')}`);
    }
  };
  await Promise.all([worker(), worker()]);
  const ok = sum.lost === 0 && sum.corrupt === 0 && sum.findings.length === 0 && sum.trials > 0;
  const cut = sum.trials < trials ? ` (time budget: ${sum.trials} of ${trials})` : '';
  return {
    ok,
    figures:
      `${sum.trials} trials${cut}, ${sum.lost} snapshots lost, ${sum.corrupt} corrupt, ${sum.acked} acknowledged, ` +
      `${sum.midFlush} killed mid-flush (torn data dropped and reported), restart recovered ${sum.trials - sum.findings.length}/${sum.trials}`,
    why: sum.findings.slice(0, 3).join(' | '),
  };
}

/** Mounts a tmpfs of `size` at `dir` (root); false when mounting is refused. */
function mountTmpfs(dir, size) {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function umount(dir) {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    // best effort (a failure leaves a small tmpfs until reboot; reported nowhere else)
  }
}

async function diskFullCheck() {
  const dir = path.join(scratch, 'full');
  fs.mkdirSync(dir);
  const mounted = mountTmpfs(dir, '1m');
  let res;
  try {
    // Fallback: a 1 MiB file-size limit (EFBIG instead of ENOSPC; space cannot be freed, so the
    // retry step is expected to fail and is not counted).
    res = mounted
      ? await runNode(childArgs('diskfull', dir, 0))
      : await new Promise((resolve) => {
          const cmd = `ulimit -f 1024 && exec "${process.execPath}" ${childArgs('diskfull', dir, 0)
            .map((a) => `"${a}"`)
            .join(' ')}`;
          runNode([
            '-e',
            `require('child_process').execFileSync('bash', ['-c', ${JSON.stringify(cmd)}], { stdio: 'inherit' })`,
          ]).then(resolve);
        });
  } finally {
    if (mounted) umount(dir);
  }
  const line = res.stdout.trim().split('\n').pop() ?? '';
  let r;
  try {
    r = JSON.parse(line);
  } catch {
    return { ok: false, figures: 'child failed', why: `${res.code} ${res.stderr.slice(-400)}` };
  }
  const how = mounted ? 'tmpfs 1 MiB' : 'RLIMIT_FSIZE 1 MiB (tmpfs mount refused)';
  const why = [...r.errors];
  const causeRe = mounted ? /disk is full/ : /file size limit/;
  if (!r.fullError?.documented || !causeRe.test(r.fullError.message)) why.push(`flush error: ${r.fullError?.message}`);
  if (r.pendingAfterFull < 1) why.push('the failed snapshot was dropped from the queue');
  if (r.liveProblems.length > 0) why.push(`reader saw a torn flush: ${r.liveProblems.join('; ')}`);
  if (mounted && !r.retried) why.push('retry after freeing space failed');
  if (!r.closeError?.documented) why.push(`close on a full disk: ${r.closeError?.message ?? 'resolved'}`);
  if (r.lockLeft) why.push('writer.lock left after close');
  if (r.tempsLeft.length > 0) why.push(`temp files left: ${r.tempsLeft.join(', ')}`);
  if (r.afterSteps < r.acked) why.push(`${r.acked - r.afterSteps} acknowledged snapshots lost`);
  if (!r.createError?.documented || !causeRe.test(r.createError.message))
    why.push(`createRun: ${r.createError?.message}`);
  if (r.freshLeft.some((n) => n !== store.LOCK_FILE)) why.push(`createRun left ${r.freshLeft.join(', ')}`);
  return {
    ok: why.length === 0,
    figures:
      `${how}, ${r.acked} snapshots acknowledged, ${Math.max(0, r.acked - r.afterSteps)} lost, failed flush undone ` +
      `(${r.liveProblems.length} torn records seen), ${mounted ? 'retry after freeing space committed the pending, ' : ''}` +
      `close and createRun refused with "${(r.fullError?.message ?? '').replace(/^.*?\((the [^:]+):.*$/, '$1')}"`,
    why: why.join('; '),
  };
}

async function readOnlyCheck() {
  const dir = path.join(scratch, 'ro');
  fs.mkdirSync(dir);
  const mounted = mountTmpfs(dir, '16m');
  const why = [];
  try {
    // A finished run and a crashed one (child killed after its third acknowledged flush).
    const finished = path.join(dir, 'finished');
    const w = await store.createRun(finished, {});
    for (let s = 0; s < 4; s++) w.append(snap(3, s));
    await w.close();
    const crashed = path.join(dir, 'crashed');
    let acked = 0;
    await runNode(childArgs('writer', crashed, 77), {
      onLine: (line, child) => {
        const m = /^ack (\d+)$/.exec(line);
        if (m) acked = Number(m[1]);
        if (acked >= 3) child.kill('SIGKILL');
      },
    });
    const listing = () => JSON.stringify(fs.readdirSync(dir, { recursive: true }).sort());
    if (mounted) execFileSync('mount', ['-o', 'remount,ro', dir]);
    else execFileSync('chmod', ['-R', 'a-w', dir]);
    const before = listing();
    const f = await store.openRun(finished);
    if (f.status !== 'finished' || f.steps.length !== 4)
      why.push(`finished run read as ${f.status} with ${f.steps.length}`);
    for (const s of f.steps) if (diff(f, 3, s)) why.push(diff(f, 3, s));
    const c = await store.openRun(crashed);
    if (c.status !== 'interrupted' || c.steps.length < acked)
      why.push(`crashed run read as ${c.status} with ${c.steps.length} < ${acked}`);
    for (const s of c.steps) if (diff(c, 77, s)) why.push(diff(c, 77, s));
    const refusals = [];
    /** @type {[string, () => Promise<unknown>][]} */
    const writes = [
      ['createRun (restart)', () => store.createRun(finished, {})],
      ['repairRun', () => store.repairRun(crashed)],
      ['createRun (new)', () => store.createRun(path.join(dir, 'new'), {})],
    ];
    for (const [what, fn] of writes) {
      try {
        await fn();
        why.push(`${what} resolved on a read-only directory`);
      } catch (e) {
        if (!isDocumented(e) || !/read-only|permission denied/.test(e.message))
          why.push(`${what}: ${e?.name} ${e?.message}`);
        else refusals.push(what);
      }
    }
    if (listing() !== before) why.push('the read-only directory changed');
    return {
      ok: why.length === 0,
      figures:
        `${mounted ? 'tmpfs remounted ro' : 'chmod a-w'}: finished and crashed runs read back (${f.steps.length} + ${c.steps.length} snapshots), ` +
        `${refusals.length}/3 writes refused with "the file system is read-only"`,
      why: why.join('; '),
    };
  } finally {
    if (mounted) umount(dir);
    else execFileSync('chmod', ['-R', 'u+w', dir]);
  }
}

async function twoWritersCheck(races) {
  const sum = { races: 0, serialised: 0, refused: 0, lost: 0, findings: [] };
  const rnd = prng(Number(args.seed) * 31);
  for (let i = 0; i < races; i++) {
    const dir = path.join(scratch, `race-${i}`);
    const delayB = Math.floor(rnd() * 250);
    const count = 1 + Math.floor(rnd() * 3);
    const [a, b] = await Promise.all(
      ['a', 'b'].map((tag) => runNode(childArgs(`race:${tag}:${tag === 'a' ? 0 : delayB}:${count}`, dir, 0))),
    );
    sum.races++;
    const run = await store.openRun(dir);
    let refusedHere = 0;
    for (const [tag, r] of /** @type {[string, typeof a][]} */ ([
      ['a', a],
      ['b', b],
    ])) {
      if (r.code !== 0) sum.findings.push(`race ${i} ${tag}: exit ${r.code} ${r.stderr.slice(-200)}`);
      const refused = /^refused (\S+) (.*)$/m.exec(r.stdout);
      if (refused) {
        refusedHere++;
        if (refused[1] !== 'documented' || !/being written by pid \d+/.test(refused[2]))
          sum.findings.push(`race ${i} ${tag}: refusal ${refused[1]} ${refused[2]}`);
        continue;
      }
      const acked = Number(/ack (\d+)\s*$/m.exec(r.stdout)?.[1] ?? 0);
      const present = run.rows({ family: 'omd', observable: tag }).length;
      if (present < acked) sum.lost += acked - present;
      for (const s of run.rows({ family: 'omd', observable: tag }).map((x) => x.step)) {
        const d = diff(run, 11, s, tag);
        if (d) sum.findings.push(`race ${i} ${tag}: ${d}`);
      }
    }
    if (refusedHere === 0) {
      sum.serialised++;
      if (run.meta.sessions.length !== 2)
        sum.findings.push(`race ${i}: both wrote but ${run.meta.sessions.length} session(s)`);
    } else sum.refused++;
    if (refusedHere === 2) sum.findings.push(`race ${i}: both refused`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // In one process: the second writer is refused while the first is open.
  const dir = path.join(scratch, 'race-same');
  const w = await store.createRun(dir, {});
  try {
    await store.createRun(dir, {});
    sum.findings.push('a second writer in the same process was accepted');
  } catch (e) {
    if (!isDocumented(e) || !/being written by pid/.test(e.message)) sum.findings.push(`same process: ${e.message}`);
  }
  await w.close();
  return {
    ok: sum.findings.length === 0 && sum.lost === 0,
    figures: `${sum.races} races of two processes: ${sum.refused} refused cleanly ("being written by pid …"), ${sum.serialised} serialised as two sessions, ${sum.lost} snapshots lost; same-process second writer refused`,
    why: sum.findings.slice(0, 3).join(' | '),
  };
}

try {
  const trials = Number(args.trials ?? 200);
  // Shares of the budget: the kill trials dominate; the rest are a few seconds each.
  if (wanted.has('kill')) await checks.run('kill -9', () => killCheck('writer', trials, budget * 0.6));
  if (wanted.has('monitor'))
    await checks.run('kill -9 monitor', () =>
      killCheck('monitor', Math.max(2, Math.round(trials / 20)), Math.max(10, budget * 0.2)),
    );
  if (wanted.has('diskfull')) await checks.run('disk full', diskFullCheck);
  if (wanted.has('readonly')) await checks.run('read-only', readOnlyCheck);
  if (wanted.has('writers')) await checks.run('two writers', () => twoWritersCheck(Number(args.races ?? 20)));
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
checks.exit();
