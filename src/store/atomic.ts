/** Small file-system helpers of the store: atomic replacement, full writes, file-system errors. */
import fs from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { SpecdynError } from '../errors.js';

let counter = 0;

/** A temporary name beside `file` (same directory, so rename is atomic). */
export function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${counter++}.tmp`);
}

/** Writes `data` to `file` atomically: temp file, fsync, rename over, fsync the directory. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = tempName(file);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    // A full disk must not also be left holding a half-written temp file.
    removeQuietly(tmp);
    throw e;
  }
  syncDir(path.dirname(file));
}

/** Removes `file` if it exists; a failure to remove is ignored (best-effort cleanup on an error path). */
export function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // the error being reported is the one that matters
  }
}

/** Writes every byte of `data` at the fd's position (writeSync may write less than asked). */
export function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.byteLength) off += fs.writeSync(fd, data, off, data.byteLength - off);
}

/** fsync of a directory (makes a rename durable); ignored where the platform refuses it. */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * "Expected <what> for <name> but received '<path>'" with the path in full (the shared message
 * helper abbreviates long strings, and a path is only useful whole).
 */
export function expectedPath(what: string, name: string, p: string): string {
  return `Expected ${what} for ${name} but received '${p}'`;
}

function write(fd: number, buf: Uint8Array, off: number, len: number, position: number | null): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.write(fd, buf, off, len, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}
const fdatasync = promisify(fs.fdatasync);
const fsync = promisify(fs.fsync);

/**
 * {@link writeAll} off the main thread (libuv's pool), then fdatasync when `durable`. With
 * `position` the bytes go to that file offset (and on), otherwise to the fd's current position
 * (the end, for a file opened for appending).
 */
export async function writeAllAsync(
  fd: number,
  data: Uint8Array,
  durable: boolean,
  position: number | null = null,
): Promise<void> {
  let off = 0;
  while (off < data.byteLength)
    off += await write(fd, data, off, data.byteLength - off, position === null ? null : position + off);
  if (durable) await fdatasync(fd);
}

/** {@link writeFileAtomic} off the main thread; without `durable`, no fsync (still atomic against crashes of this process). */
export async function writeFileAtomicAsync(file: string, data: string, durable: boolean): Promise<void> {
  const tmp = tempName(file);
  try {
    const fh = await fs.promises.open(tmp, 'w');
    try {
      await fh.writeFile(data, 'utf8');
      if (durable) await fsync(fh.fd);
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    removeQuietly(tmp);
    throw e;
  }
  if (durable) syncDir(path.dirname(file));
}

const FS_CAUSES: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
  EFBIG: 'the file size limit is reached',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'an input/output error',
};

/**
 * The store's error for a failed file-system call: a SpecdynError "Expected <what> for <name>
 * but received '<path>' (<plain cause>: <system message>)", the system error as its `cause`
 * (so `err.cause.code` is 'ENOSPC', 'EROFS', …). Errors that are already specdyn's own, or a
 * TypeError/RangeError, pass through unchanged.
 */
export function fileSystemError(e: unknown, what: string, name: string, p: string, note = ''): Error {
  if (e instanceof SpecdynError || e instanceof TypeError || e instanceof RangeError) return e;
  const err = e as NodeJS.ErrnoException;
  const plain = (err.code && FS_CAUSES[err.code]) || 'file-system error';
  return new SpecdynError(`${expectedPath(what, name, p)} (${plain}: ${err.message ?? String(e)})${note}`, {
    cause: e,
  });
}
