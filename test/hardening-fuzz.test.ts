// The reader fuzzer's regression corpus (test/fixtures/fuzz/<target>/*.bin: .npy, .npz, safetensors,
// IDX inputs and damaged run directories packed as one file, found by scripts/hardening/fuzz-readers.mjs), replayed
// on the current sources: every input parses consistently or is refused with a documented error
// that names it, within the allocation bound; none hangs. The inputs named finding-* made the
// readers before this corpus hang, run out of memory, allocate gigabytes or throw undocumented errors.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/native.js';
import { transpileSources } from './helpers.js';

let build = '';
afterAll(() => {
  if (build) fs.rmSync(build, { recursive: true, force: true });
});

const corpus = path.join(packageRoot, 'test/fixtures/fuzz');

describe('reader fuzz corpus', () => {
  it('replays every input without a finding', () => {
    const count = fs
      .readdirSync(corpus)
      .map((t) => fs.readdirSync(path.join(corpus, t)).length)
      .reduce((a, b) => a + b, 0);
    expect(count).toBeGreaterThanOrEqual(50);
    build = transpileSources(packageRoot, 'hardening-fuzz');
    const r = spawnSync(
      process.execPath,
      [
        path.join(packageRoot, 'scripts/hardening/fuzz-readers.mjs'),
        '--replay',
        corpus,
        '--store',
        path.join(build, 'src/store/index.js'),
      ],
      { encoding: 'utf8', cwd: packageRoot, timeout: 300_000 },
    );
    expect(r.stderr).toBe('');
    const m =
      /^fuzz corpus replay: (\d+) inputs, (\d+) rejected with a documented error, (\d+) parsed, (\d+) findings$/.exec(
        r.stdout.trim(),
      );
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBe(count);
    expect(Number(m![2]) + Number(m![3])).toBe(count);
    expect(Number(m![4])).toBe(0);
    expect(r.status).toBe(0);
  });
});
