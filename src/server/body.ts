/**
 * Reading a request body under a byte limit: a declared Content-Length over the limit is refused
 * before a byte is read, and a body without one (chunked) is counted as it streams and refused
 * as soon as it passes the limit, so an oversized upload is never held in memory.
 */
import { HttpError } from './http-error.js';

/** The parsed Content-Length header: undefined when absent. @throws HttpError 400 when it is not a non-negative integer. */
export function contentLength(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header[0]! : header;
  if (!/^\d{1,15}$/.test(text.trim()))
    throw new HttpError(400, `Expected a non-negative integer for the Content-Length header but received '${text}'`);
  return Number(text.trim());
}

/** The 413 of a body over `limit` bytes. */
export function tooLarge(limit: number, received: string): HttpError {
  return new HttpError(413, `Expected a body of at most ${limit} bytes (maxUploadBytes) but received ${received}`, {
    connection: 'close',
  });
}

/**
 * Reads a body of at most `limit` bytes into one Uint8Array of its own (never a chunk's memory). `declared` is the Content-Length
 * (checked against the limit before reading; the body must then have exactly that many bytes).
 * @throws HttpError 413 over the limit (before reading when declared, else as soon as the count
 * passes it); HttpError 400 when the body ends before its declared length; the stream's own error
 * when the client goes away mid-upload.
 */
export async function readBody(
  body: AsyncIterable<Uint8Array>,
  limit: number,
  declared: number | undefined,
): Promise<Uint8Array> {
  if (declared !== undefined && declared > limit) throw tooLarge(limit, `Content-Length ${declared}`);
  if (declared !== undefined) {
    // One allocation of the declared size; the HTTP parser stops at Content-Length.
    const out = new Uint8Array(declared);
    let got = 0;
    for await (const chunk of body) {
      if (got + chunk.byteLength > declared)
        throw new HttpError(400, `Expected ${declared} body bytes (Content-Length) but received more`);
      out.set(chunk, got);
      got += chunk.byteLength;
    }
    if (got !== declared)
      throw new HttpError(400, `Expected ${declared} body bytes (Content-Length) but received ${got} (truncated)`);
    return out;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > limit) throw tooLarge(limit, `more than ${limit} bytes (chunked)`);
    chunks.push(chunk);
  }
  // Always a copy: a lone chunk may be the caller's own memory (an embedding app's Buffer, an
  // injected payload), and the analysis workers take over the buffer they are sent.
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
