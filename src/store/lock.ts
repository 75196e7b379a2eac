/**
 * The writer lock of a run directory: `writer.lock` holds `{ pid, hostname, session, startedAt }`
 * of the one live writer. It is created with link(2) from a complete temp file, so it is never
 * seen half-written. A lock whose pid is dead on this host is stale and is taken over; a live
 * pid (including this process) or a lock from another host refuses the new writer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SpecdynError } from '../errors.js';
import { tempName } from './atomic.js';

/** File name of the lock inside a run directory. */
export const LOCK_FILE = 'writer.lock';

/** Contents of the lock file. */
export interface LockInfo {
  pid: number;
  hostname: string;
  session: number;
  startedAt: string;
}

/** True when `pid` names a live process on this host (EPERM: alive, another user's). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads the lock of `dir`, or undefined when there is none or it is unreadable. */
export function readLock(dir: string): LockInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as LockInfo;
    return typeof info?.pid === 'number' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** True when the lock of `dir` is held by a live process (on another host: assumed live). */
export function lockHeld(info: LockInfo | undefined): boolean {
  if (!info) return false;
  return info.hostname !== os.hostname() || pidAlive(info.pid);
}

/**
 * Takes the writer lock of `dir` for `session`. Throws SpecdynError when a live writer holds it
 * (naming its pid and host). A stale lock (dead pid on this host) is taken over.
 */
export function acquireLock(dir: string, session: number): LockInfo {
  const file = path.join(dir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, hostname: os.hostname(), session, startedAt: new Date().toISOString() };
  const tmp = tempName(file);
  try {
    fs.writeFileSync(tmp, JSON.stringify(info));
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.linkSync(tmp, file);
        return info;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const held = readLock(dir);
      if (held && lockHeld(held)) {
        const where = held.hostname === os.hostname() ? `pid ${held.pid}` : `pid ${held.pid} on host ${held.hostname}`;
        throw new SpecdynError(
          `Expected no live writer for run directory ${dir} but it is being written by ${where} (since ${held.startedAt}); ` +
            `close that writer first${held.hostname === os.hostname() ? '' : `, or delete ${LOCK_FILE} if that process is gone`}`,
        );
      }
      // Stale (dead pid) or unreadable: move it aside; only one contender's rename succeeds.
      const aside = `${file}.stale-${process.pid}`;
      try {
        fs.renameSync(file, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      const moved = (() => {
        try {
          return JSON.parse(fs.readFileSync(aside, 'utf8')) as LockInfo;
        } catch {
          return undefined;
        }
      })();
      if (moved && lockHeld(moved)) {
        // Another contender took over between our read and rename: give its lock back.
        try {
          fs.linkSync(aside, file);
        } catch {
          /* it will be reported on the next attempt */
        }
      }
      fs.rmSync(aside, { force: true });
    }
    throw new SpecdynError(
      `Expected to take the writer lock of run directory ${dir} but other writers kept racing for it`,
    );
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Releases the lock of `dir` if `info` still owns it. */
export function releaseLock(dir: string, info: LockInfo): void {
  const held = readLock(dir);
  if (held && held.pid === info.pid && held.session === info.session && held.startedAt === info.startedAt) {
    fs.rmSync(path.join(dir, LOCK_FILE), { force: true });
  }
}
