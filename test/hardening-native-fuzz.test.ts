// The fuzzing regression corpus, replayed fast: every input kept under fuzz/corpus/<target>/
// (found by scripts/hardening/fuzz-native.mjs) runs through the same harness inside the addon
// (native/kernels/harness.h) and must not break an invariant; and a short JavaScript-level fuzz
// of the binding's argument checks (fuzz/napi-args.mjs) in a child process.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { native, packageRoot } from '../src/native.js';

const TARGETS = ['gram', 'distance', 'eigen', 'svd', 'eigsh', 'density', 'sgemm', 'elementwise', 'format'];
const corpus = path.join(packageRoot, 'fuzz/corpus');

describe('fuzz regression corpus', () => {
  for (const target of TARGETS) {
    it(`${target}: every kept input replays without breaking an invariant`, () => {
      const dir = path.join(corpus, target);
      const files = existsSync(dir) ? readdirSync(dir).sort() : [];
      expect(files.length).toBeGreaterThan(0);
      const bugs: string[] = [];
      const kinds = { ok: 0, refused: 0, bug: 0 };
      for (const f of files) {
        const r = native().__fuzzReplay(target, new Uint8Array(readFileSync(path.join(dir, f))));
        kinds[r.kind]++;
        if (r.kind === 'bug') bugs.push(`${f}: ${r.what}`);
      }
      expect(bugs).toEqual([]);
      // The corpus reaches the kernels, not only their refusals.
      expect(kinds.ok).toBeGreaterThan(0);
    });
  }

  it('the replay hook checks its own arguments', () => {
    expect(() => native().__fuzzReplay('nope', new Uint8Array(1))).toThrow(RangeError);
    expect(() => native().__fuzzReplay('gram', [1, 2] as never)).toThrow(
      new TypeError('Expected a Uint8Array for input but received Array(2)'),
    );
    // The empty input decodes to zeros: the smallest shapes, which run.
    expect(native().__fuzzReplay('gram', new Uint8Array(0)).kind).toBe('ok');
  });
});

describe('binding argument checks, fuzzed from JavaScript', () => {
  it('1500 random calls into every binding: each returns or throws a specdyn error, no crash', () => {
    const r = spawnSync(process.execPath, [path.join(packageRoot, 'fuzz/napi-args.mjs'), '1500', '7'], {
      encoding: 'utf8',
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
      timeout: 120_000,
    });
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    const m = /^1500 calls, (\d+) returned, (\d+) refused, 0 unexpected$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    // Both outcomes occur: the generator reaches the kernels and the checks.
    expect(Number(m![1])).toBeGreaterThan(100);
    expect(Number(m![2])).toBeGreaterThan(100);
    expect(r.status).toBe(0);
  });
});
