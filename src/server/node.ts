/**
 * The service on node:http's request and response, for a plain `http.createServer` or an Express
 * app (mount the handlers on routes without a body parser: the handler reads the raw body), and
 * the `'checkContinue'` listener that answers `Expect: 100-continue` before the body is sent
 * (for any node:http server, Fastify's and Express's included).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AnalysisKind } from './decode.js';
import { AnalysisService, type AnalysisResponse } from './service.js';
import { expected } from '../errors.js';

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
    const r = await service.handle(kind, {
      body: req,
      headers: req.headers,
      query,
      signal: disconnectSignal(res),
      raw: req,
    });
    sendResponse(res, r);
  };
}

/** The handler of the health route (JSON of {@link AnalysisService.health}). */
export function nodeHealthHandler(service: AnalysisService): NodeHandler {
  return async (_req, res) => sendResponse(res, service.healthResponse());
}

/** Which analysis a request is for (undefined: not one of the service's routes). */
export type RouteMatcher = (req: IncomingMessage) => AnalysisKind | undefined;

/** The matcher of `POST <prefix>/weights` and `POST <prefix>/omd` (the query aside). */
export function prefixRoutes(prefix: string): RouteMatcher {
  const base = prefix.replace(/\/+$/, '');
  return (req) => {
    if (req.method !== 'POST') return undefined;
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === `${base}/weights`) return 'weights';
    if (path === `${base}/omd`) return 'omd';
    return undefined;
  };
}

/**
 * A listener for a node:http server's `'checkContinue'` event (a request sent with
 * `Expect: 100-continue`, whose client waits before sending the body). For the service's routes
 * (`routes`: a prefix such as '/v1', as {@link prefixRoutes}, or a matcher) it runs
 * {@link AnalysisService.checkContinue}: a refusal (429 with Retry-After, 413, 400, 503) is sent
 * with `Connection: close`, so the body is never uploaded; otherwise the request's place is
 * taken (after a wait in the hold line when every place is taken), `100 Continue` is sent and
 * the request goes on to `server`'s 'request' listeners (the handlers then use that place). Every other request gets `100 Continue` and goes on as
 * Node would have sent it without a listener.
 * @throws TypeError when `service` is not an AnalysisService or `routes` neither a string nor a function.
 * @example
 * server.on('checkContinue', continueListener(service, server, '/spectra'));
 */
export function continueListener(
  service: AnalysisService,
  server: Server,
  routes: string | RouteMatcher = '',
): (req: IncomingMessage, res: ServerResponse) => void {
  if (!(service instanceof AnalysisService))
    throw new TypeError(expected('an AnalysisService', "continueListener's service", service));
  if (typeof routes !== 'string' && typeof routes !== 'function')
    throw new TypeError(expected('a path prefix or a route matcher', "continueListener's routes", routes));
  const match = typeof routes === 'function' ? routes : prefixRoutes(routes);
  const proceed = (req: IncomingMessage, res: ServerResponse) => {
    res.writeContinue();
    server.emit('request', req, res);
  };
  return (req, res) => {
    const kind = match(req);
    if (kind === undefined) return proceed(req, res);
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const signal = disconnectSignal(res);
    void service.checkContinue(kind, { headers: req.headers, query, raw: req, signal }).then((refusal) => {
      if (refusal) return sendResponse(res, refusal);
      // A request that never reaches the handler (another listener answered it, the client left) gives its place back.
      if (res.destroyed) return service.releaseContinue(req);
      res.once('close', () => service.releaseContinue(req));
      proceed(req, res);
    });
  };
}
