/**
 * The service on node:http's request and response, for a plain `http.createServer` or an Express
 * app (mount the handlers on routes without a body parser: the handler reads the raw body).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnalysisKind } from './decode.js';
import type { AnalysisResponse, AnalysisService } from './service.js';

/** A node:http / Express request handler. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * An AbortSignal that fires when the client goes away before `res` is finished (the response's
 * 'close' before its 'finish').
 */
export function disconnectSignal(res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) ac.abort(new Error('client disconnected'));
  });
  return ac.signal;
}

/** Writes a service response (nothing when the client has gone away). */
export function sendResponse(res: ServerResponse, r: AnalysisResponse): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
  res.end(r.body);
}

/**
 * The handler of one analysis route (`kind` 'weights' or 'omd'): reads the raw body of `req`
 * under the service's limits and answers with the row or a one-line error. The query is read
 * from `req.url` (Express's parsed `req.query` is not needed).
 * @example
 * const service = new AnalysisService({ maxConcurrent: 2 });
 * app.post('/spectra/weights', nodeHandler(service, 'weights')); // no express.json() on this route
 */
export function nodeHandler(service: AnalysisService, kind: AnalysisKind): NodeHandler {
  return async (req, res) => {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const r = await service.handle(kind, { body: req, headers: req.headers, query, signal: disconnectSignal(res) });
    sendResponse(res, r);
  };
}

/** The handler of the health route (JSON of {@link AnalysisService.health}). */
export function nodeHealthHandler(service: AnalysisService): NodeHandler {
  return async (_req, res) => sendResponse(res, service.healthResponse());
}
