// Run store under faults, the fast part (the long part: npm run test:hardening). A few SIGKILL
// trials, the read-only directory and two racing writers run through
// scripts/hardening/store-faults.mjs on the current sources; a full disk, a failed seal and a
// writer that finishes between another's survey and lock are injected in-process by making one
// file-system call fail or do more.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createRun, openRun, LOCK_FILE, SpecdynError, type Snapshot } from '../src/store/index.js';
import { packageRoot } from '../src/native.js';
import { transpileSources } from './helpers.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-hardening-store-'));
let build = '';
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
  if (build) fs.rmSync(build, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});
let counter = 0;
const fresh = (): string => path.join(root, `run-${counter++}`);

function snap(step: number): Snapshot {
  return {
    step,
    logs: { loss: 1 / (step + 1) },
    observables: [
      {
        observable: 'h',
        family: 'omd',
        row: { x: step },
        arrays: { v: Float64Array.from({ length: 300 }, (_, i) => step * 1000 + i) },
      },
    ],
  };
}

async function expectExact(dir: string, steps: number[]): Promise<void> {
  const run = await openRun(dir);
  expect(run.problems).toEqual([]);
  expect(run.steps).toEqual(steps);
  for (const s of steps) {
    expect(run.rows({ family: 'omd', step: s })[0]!.x).toBe(s);
    expect(Array.from(run.array(s, 'h', 'v') as Float64Array)).toEqual(
      Array.from(snap(s).observables[0]!.arrays!.v as Float64Array),
    );
  }
}

const enospc = (): NodeJS.ErrnoException =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });

/**
 * Makes the `nth` (0-based) fs.write call from now on write half its bytes, and the one after it
 * fail with ENOSPC (what a filling disk does); every other call passes through.
 */
function failWriteAt(nth: number): void {
  const real = fs.write;
  let calls = 0;
  let failNext = false;
  vi.spyOn(fs, 'write').mockImplementation(((...a: unknown[]) => {
    const cb = a[a.length - 1] as (e: NodeJS.ErrnoException | null, n?: number) => void;
    const k = calls++;
    if (failNext) {
      failNext = false;
      setImmediate(() => cb(enospc()));
      return;
    }
    if (k === nth && typeof a[3] === 'number' && (a[3] as number) > 1) {
      failNext = true;
      const args = [...a];
      args[3] = Math.floor((a[3] as number) / 2);
      return (real as (...x: unknown[]) => void)(...args);
    }
    return (real as (...x: unknown[]) => void)(...a);
  }) as typeof fs.write);
}

describe('a full disk during a flush', () => {
  it.each([
    ['steps.jsonl', 0],
    ['the shard', 1],
  ])(
    'torn write of %s: the flush is undone, named, kept pending, and later flushes read back exactly',
    async (_what, nth) => {
      const dir = fresh();
      const w = await createRun(dir, { durable: false });
      w.append(snap(0));
      await w.flush();
      w.append(snap(1));
      w.append(snap(2));
      failWriteAt(nth);
      const err = await w.flush().catch((e: unknown) => e);
      vi.restoreAllMocks();
      expect(err).toBeInstanceOf(SpecdynError);
      const message = (err as Error).message;
      expect(message).toContain('2 snapshot(s) (steps 1–2)');
      expect(message).toContain('the disk is full');
      expect(message).toContain('nothing of this flush was committed');
      expect(((err as Error).cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
      expect(w.pending).toBe(2);
      expect(w.committed).toBe(1);
      // Nothing torn is left behind for a reader.
      await expectExact(dir, [0]);
      // Space is back: the retry commits the pending snapshots; later flushes follow them.
      await w.flush();
      w.append(snap(3));
      await w.flush();
      w.append(snap(4));
      await w.close();
      await expectExact(dir, [0, 1, 2, 3, 4]);
      expect((await openRun(dir)).status).toBe('finished');
    },
  );

  it('a run.json that cannot be replaced undoes the flush too (flush rejected ⇔ not committed)', async () => {
    const dir = fresh();
    const w = await createRun(dir, { durable: false });
    w.append(snap(0));
    await w.flush();
    w.append(snap(1));
    vi.spyOn(fs.promises, 'rename').mockRejectedValueOnce(enospc());
    await expect(w.flush()).rejects.toThrow(/step 1\) committed to .* but writing run\.json failed/);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    await expectExact(dir, [0]);
    await w.close();
    await expectExact(dir, [0, 1]);
  });

  it('a close that cannot seal still records what it can, releases the lock and says why', async () => {
    const dir = fresh();
    const w = await createRun(dir, { durable: false });
    w.append(snap(0));
    await w.flush();
    const realRename = fs.renameSync;
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      if (String(to).endsWith('.arrow')) throw enospc();
      return realRename(from, to);
    });
    const err = await w.close().catch((e: unknown) => e);
    vi.restoreAllMocks();
    expect(err).toBeInstanceOf(SpecdynError);
    expect((err as Error).message).toMatch(/a shard sealed as an Arrow IPC file .* \(the disk is full: ENOSPC/);
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    // The shard stayed a stream: readable, and the next session seals it.
    await expectExact(dir, [0]);
    const w2 = await createRun(dir, {});
    expect(w2.session).toBe(1);
    await w2.close();
    expect(fs.readFileSync(path.join(dir, 'spectra-000.arrow')).subarray(0, 6).toString()).toBe('ARROW1');
    await expectExact(dir, [0]);
  });
});

describe('two writers', () => {
  it('a writer that finishes between another writer’s survey and lock makes it a restart, not a second session 0', async () => {
    const other = fresh();
    const w0 = await createRun(other, {});
    w0.append(snap(0));
    w0.append(snap(1));
    await w0.close();
    const dir = fresh();
    fs.mkdirSync(dir);
    const realLink = fs.linkSync;
    let raced = false;
    vi.spyOn(fs, 'linkSync').mockImplementation((from, to) => {
      if (!raced && String(to) === path.join(dir, LOCK_FILE)) {
        raced = true; // the other writer ran to completion just now
        fs.cpSync(other, dir, { recursive: true });
      }
      return realLink(from, to);
    });
    const w = await createRun(dir, {});
    vi.restoreAllMocks();
    expect(raced).toBe(true);
    expect(w.session).toBe(1);
    w.append(snap(2));
    await w.close();
    await expectExact(dir, [0, 1, 2]);
    expect((await openRun(dir)).meta.sessions.map((s) => s.id)).toEqual([0, 1]);
  });
});

describe('temp files of a killed writer', () => {
  it('are removed by the next session, also when the writer died before run.json existed; a live pid’s stay', async () => {
    const dir = fresh();
    fs.mkdirSync(dir);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const stale = [`.writer.lock.${dead.stdout}.0.tmp`, `.run.json.${dead.stdout}.3.tmp`];
    const live = `.writer.lock.${process.ppid}.1.tmp`;
    for (const n of [...stale, live]) fs.writeFileSync(path.join(dir, n), 'x');
    const w = await createRun(dir, {});
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([live]);
    await w.close();
  });
});

describe('damaged run.json', () => {
  it('is named with the field, not met as a TypeError later', async () => {
    const dir = fresh();
    const w = await createRun(dir, {});
    await w.close();
    const file = path.join(dir, 'run.json');
    const meta = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...meta, sessions: 3 }));
    await expect(openRun(dir)).rejects.toThrow(
      new SpecdynError(`Expected an array of sessions with integer ids for sessions of ${file} but received 3`),
    );
    fs.writeFileSync(file, JSON.stringify({ ...meta, status: 'done' }));
    await expect(openRun(dir)).rejects.toThrow(/Expected a run status .* for status of .* but received 'done'/);
  });
});

describe('store fault injection script (few trials)', () => {
  it('kill -9, read-only and two writers: nothing lost, every refusal documented', () => {
    build ||= transpileSources(packageRoot, 'hardening-store');
    const r = spawnSync(
      process.execPath,
      [
        path.join(packageRoot, 'scripts/hardening/store-faults.mjs'),
        '--store',
        path.join(build, 'src/store/index.js'),
        '--checks',
        'kill,readonly,writers',
        '--trials',
        '4',
        '--races',
        '2',
        '--seed',
        '7',
      ],
      { encoding: 'utf8', cwd: packageRoot, env: { ...process.env, SPECDYN_HARDENING_SECONDS: '600' } },
    );
    const lines = r.stdout.trim().split('\n');
    expect(r.stderr).toBe('');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^kill -9: 4 trials, 0 snapshots lost, 0 corrupt, \d+ acknowledged, .* restart recovered 4\/4$/,
    );
    expect(lines[1]).toMatch(/^read-only: .* 3\/3 writes refused/);
    expect(lines[2]).toMatch(/^two writers: 2 races of two processes: .* 0 snapshots lost/);
    expect(r.status).toBe(0);
  });
});
