/**
 * The one error kind of the service's request path: an HTTP status, a one-line reason (the
 * response body's `error`) and the extra response headers (Retry-After, Connection).
 */
import { SpecdynError } from '../errors.js';

/** A request refused with `status`; `message` is one line, in the "Expected … but received …" form where it can be. */
export class HttpError extends SpecdynError {
  /** HTTP status code (400, 413, 429, 503, …). */
  readonly status: number;
  /** Extra response headers (lower-case names). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(oneLine(message));
    this.status = status;
    this.headers = headers;
  }
}

/** The first line of a message, at most 500 characters (a reason is one line). */
export function oneLine(message: string): string {
  const first = message.split('\n', 1)[0]!.trim();
  return first.length > 500 ? `${first.slice(0, 497)}...` : first;
}
