// The fast subset of scripts/hardening/lifecycle.mjs (--quick): worker_threads terminated at
// random points, several workers calling at once (results equal to the main thread's), many
// workers loading the addon together, and processes exiting with calls pending. Each scenario
// runs in its own child process: a crash would show as a signal, a hang as the timeout.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/native.js';

describe('lifecycle (quick run of scripts/hardening/lifecycle.mjs)', () => {
  it('no crash and no hang across terminations, concurrent workers, parallel loads and exits with calls pending', () => {
    const r = spawnSync(process.execPath, [path.join(packageRoot, 'scripts/hardening/lifecycle.mjs'), '--quick'], {
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(r.signal).toBeNull();
    const lines = r.stdout.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^worker terminate: 12 trials \(\d+ during calls\), 0 crashes$/),
      'workers concurrent: 2 workers x 20 calls, 0 mismatches, 0 crashes',
      'addon load: 6 workers at once, 6 loaded and called, 0 crashes',
      'exit pending: 3 trials, 0 crashes, 0 hangs',
    ]);
    expect(r.status).toBe(0);
  });
});
