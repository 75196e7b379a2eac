// Shared by the sweep tests: the built CLI in a child process, and a free loopback port.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

/** The built `specdyn` bin. */
export const BIN = resolve('dist/cli/main.js');
/** The test-only experiments module (the sweep's resolver option). */
export const CELLS = resolve('test/sweep-cells.mjs');

/** Runs the built CLI to completion (no colour); exit code, stdout, stderr. */
export function cli(args: string[], env: Record<string, string> = {}, timeout = 300_000) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A loopback port that was free a moment ago (nothing listens on it now). */
export function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}
