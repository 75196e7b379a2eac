// Shared by the hardening scripts: the check-line protocol of scripts/hardening.mjs, the time
// budget it hands each script, a seeded PRNG and small process helpers.
//
// Protocol: every check prints exactly one line `<name>: <figures>` on stdout; a failing check
// prints `<name>: FAIL <figures and why>`. A script exits 1 when any of its checks failed.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (two levels above this folder). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * Seconds this script may use: `SPECDYN_HARDENING_SECONDS` (set by scripts/hardening.mjs, the
 * script's share of the total budget) or `fallback` when run alone.
 */
export function budgetSeconds(fallback) {
  const v = Number(process.env.SPECDYN_HARDENING_SECONDS);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** Collects check results and prints them in the protocol's form. */
export class Checks {
  constructor() {
    this.failed = 0;
    this.count = 0;
  }

  /** Prints `name: figures`, or `name: FAIL figures — why` when `ok` is false. */
  line(name, ok, figures, why = '') {
    this.count++;
    if (!ok) this.failed++;
    process.stdout.write(`${name}: ${ok ? '' : 'FAIL '}${figures}${!ok && why ? ` — ${why}` : ''}\n`);
  }

  /** Runs `fn` (returning { ok, figures, why }) as check `name`; a throw is a failed check. */
  async run(name, fn) {
    try {
      const r = await fn();
      this.line(name, r.ok, r.figures, r.why);
    } catch (e) {
      this.line(name, false, 'aborted', e?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(e));
    }
  }

  /** Exit code of the script: 1 when any check failed. */
  exit() {
    process.exitCode = this.failed > 0 ? 1 : 0;
  }
}

/** A seeded PRNG, uniform in [0, 1) (bench's mulberry32): deterministic runs, a seed printed with every finding. */
export { rng as prng } from '../../../bench/lib.mjs';

/**
 * Spawns `node <args>` and collects its output; `onSpawn(child)` runs once it is started and
 * `onLine(line, child)` sees each stdout line as it arrives (e.g. to kill the child at a chosen
 * point). Resolves with { code, signal, stdout, stderr, timedOut } when the child has exited.
 * @param {string[]} args
 * @param {{ onLine?: (line: string, child: import('node:child_process').ChildProcess) => void,
 *   onSpawn?: (child: import('node:child_process').ChildProcess) => void, env?: Record<string, string>,
 *   cwd?: string, timeoutMs?: number }} [options]
 * @returns {Promise<{ code: number | null, signal: string | null, stdout: string, stderr: string, timedOut: boolean }>}
 */
export function runNode(args, { onLine, onSpawn, env, cwd = root, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '',
      partial = '',
      timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    onSpawn?.(child);
    child.stdout.on('data', (d) => {
      stdout += d;
      partial += d;
      for (let i = partial.indexOf('\n'); i >= 0; i = partial.indexOf('\n')) {
        const line = partial.slice(0, i);
        partial = partial.slice(i + 1);
        onLine?.(line, child);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
