/** Small file-system helpers of the store: atomic replacement and full writes. */
import fs from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';

let counter = 0;

/** A temporary name beside `file` (same directory, so rename is atomic). */
export function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${counter++}.tmp`);
}

/** Writes `data` to `file` atomically: temp file, fsync, rename over, fsync the directory. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = tempName(file);
  const fd = fs.openSync(tmp, 'w');
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  syncDir(path.dirname(file));
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

function write(fd: number, buf: Uint8Array, off: number, len: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.write(fd, buf, off, len, null, (err, n) => (err ? reject(err) : resolve(n))),
  );
}
const fdatasync = promisify(fs.fdatasync);
const fsync = promisify(fs.fsync);

/** {@link writeAll} off the main thread (libuv's pool), then fdatasync when `durable`. */
export async function writeAllAsync(fd: number, data: Uint8Array, durable: boolean): Promise<void> {
  let off = 0;
  while (off < data.byteLength) off += await write(fd, data, off, data.byteLength - off);
  if (durable) await fdatasync(fd);
}

/** {@link writeFileAtomic} off the main thread; without `durable`, no fsync (still atomic against crashes of this process). */
export async function writeFileAtomicAsync(file: string, data: string, durable: boolean): Promise<void> {
  const tmp = tempName(file);
  const fh = await fs.promises.open(tmp, 'w');
  try {
    await fh.writeFile(data, 'utf8');
    if (durable) await fsync(fh.fd);
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
  if (durable) syncDir(path.dirname(file));
}
