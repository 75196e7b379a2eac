// `npm run test:hardening`: runs every scripts/hardening/*.mjs in turn (alphabetical) within a
// bounded total time and prints their check lines and a summary (docs/reliability.md).
//
//   node scripts/hardening.mjs [--seconds 900] [--only soak,store-faults]
//
// The protocol every script follows: each check prints one line `<name>: <figures>` on stdout
// (`<name>: FAIL <figures — why>` when it fails) and the script exits non-zero when any check
// failed. Each script gets `SPECDYN_HARDENING_SECONDS`, its share of the time left (the time
// left divided by the scripts left, so a quick script leaves more to the later ones), and is
// killed when the whole budget is spent. Anything else a script prints goes to the log file
// named in the summary; a failing script's last stderr lines are shown.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: { seconds: { type: 'string', default: '900' }, only: { type: 'string' } },
});
const total = Number(args.seconds);
if (!Number.isFinite(total) || total <= 0) {
  console.error(`Expected a positive number of seconds for --seconds but received '${args.seconds}'`);
  process.exit(2);
}

const dir = path.join(root, 'scripts', 'hardening');
let scripts = fs
  .readdirSync(dir)
  .filter((n) => n.endsWith('.mjs'))
  .sort();
if (args.only) {
  const only = new Set(args.only.split(',').map((n) => n.replace(/\.mjs$/, '')));
  scripts = scripts.filter((n) => only.has(n.replace(/\.mjs$/, '')));
}
if (scripts.length === 0) {
  console.error(
    `Expected hardening scripts in scripts/hardening${args.only ? ` matching ${args.only}` : ''} but found none`,
  );
  process.exit(2);
}

/** dist/ and the addon must be there and dist/ newer than src/ (the scripts run the built package). */
function newest(d) {
  let t = 0;
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}
const builtAt = fs.existsSync(path.join(root, 'dist', 'index.js'))
  ? fs.statSync(path.join(root, 'dist', 'index.js')).mtimeMs
  : 0;
if (builtAt < newest(path.join(root, 'src'))) {
  console.log('hardening: compiling TypeScript (dist/ is older than src/)');
  const r = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (r.status !== 0) process.exit(1);
}
if (!fs.existsSync(path.join(root, 'build', 'Release', 'specdyn.node'))) {
  console.error(
    'hardening: the native addon is not built (build/Release/specdyn.node): run npm run build:native first',
  );
  process.exit(1);
}

const log = path.join(os.tmpdir(), `specdyn-hardening-${process.pid}.log`);
const logFd = fs.openSync(log, 'w');
const started = performance.now();
const left = () => total - (performance.now() - started) / 1000;
const results = [];

function runScript(name, share, hardLimit) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(dir, name)], {
      cwd: root,
      env: { ...process.env, SPECDYN_HARDENING_SECONDS: String(Math.max(5, Math.floor(share))) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = [];
    let partial = '',
      stderr = '',
      killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, hardLimit * 1000);
    child.stdout.on('data', (d) => {
      fs.writeSync(logFd, d);
      partial += d;
      for (let i = partial.indexOf('\n'); i >= 0; i = partial.indexOf('\n')) {
        const line = partial.slice(0, i);
        partial = partial.slice(i + 1);
        if (/^[^:\s][^:]*: /.test(line)) {
          lines.push(line);
          process.stdout.write(`${line}\n`);
        }
      }
    });
    child.stderr.on('data', (d) => {
      fs.writeSync(logFd, d);
      stderr = (stderr + d).slice(-4000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ name, code, signal, killed, lines, stderr, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

for (const [i, name] of scripts.entries()) {
  const remaining = left();
  if (remaining < 5) {
    results.push({ name, skipped: true, lines: [] });
    console.log(`${name.replace(/\.mjs$/, '')}: FAIL not run — the ${total} s budget was spent`);
    continue;
  }
  const share = remaining / (scripts.length - i);
  const r = await runScript(name, share, remaining);
  results.push(r);
  const failedLines = r.lines.filter((l) => /^[^:]+: FAIL /.test(l)).length;
  if (r.killed)
    console.log(
      `${name.replace(/\.mjs$/, '')}: FAIL killed after ${r.seconds.toFixed(0)} s (the total budget ran out)`,
    );
  else if (r.code !== 0 && failedLines === 0)
    console.log(
      `${name.replace(/\.mjs$/, '')}: FAIL exited with ${r.signal ?? `code ${r.code}`} without a failing check line`,
    );
  if (r.code !== 0 || r.killed) {
    const tail = r.stderr.trim().split('\n').slice(-8).join('\n    ');
    if (tail) console.log(`    ${tail}`);
  }
}
fs.closeSync(logFd);

const checks = results.flatMap((r) => r.lines);
const failedChecks = checks.filter((l) => /^[^:]+: FAIL /.test(l)).length;
const failedScripts = results.filter((r) => r.skipped || r.killed || r.code !== 0);
const secs = ((performance.now() - started) / 1000).toFixed(0);
console.log(
  `hardening: ${checks.length} checks from ${results.length} scripts in ${secs} s, ` +
    `${failedChecks} failed${failedScripts.length > 0 ? `, ${failedScripts.length} script(s) failed (${failedScripts.map((r) => r.name).join(', ')})` : ''}; log ${log}`,
);
process.exit(failedChecks > 0 || failedScripts.length > 0 ? 1 : 0);
