/**
 * The service on Fastify: {@link specdynRoutes}, a plugin to register in any Fastify app (it
 * replaces the body parsers of its own encapsulated context only), and {@link startServer}, the
 * standalone server behind `specdyn serve`.
 *
 * Routes (relative to the plugin's prefix; `startServer` uses `/v1`):
 * `POST /weights`, `POST /omd` (the analyses), `GET /health`, `GET /columns` (the registries).
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { requirePeers } from '../peers.js';

/** The fastify range specdyn supports (an optional peer: only the standalone server needs it). */
export const FASTIFY_RANGE = '^5.12.8';
/** The command that installs it. */
export const FASTIFY_INSTALL = `npm install fastify@${FASTIFY_RANGE}`;
import type { AnalysisKind } from './decode.js';
import { continueListener, disconnectSignal } from './node.js';
import { AnalysisService, type ServiceOptions } from './service.js';
import { checkInteger } from '../validate.js';
import { expected } from '../errors.js';

/** Options of {@link specdynRoutes}. */
export interface SpecdynRoutesOptions {
  /** The service the routes share (its limits, queue and counters). */
  service: AnalysisService;
}

async function* noBody(): AsyncIterable<Uint8Array> {}

/**
 * A Fastify plugin serving the analyses on `service`. Register it with a prefix:
 * `await app.register(specdynRoutes, { prefix: '/spectra', service })`. Inside the plugin every
 * content type reaches the handlers as the raw stream (JSON and text bodies are refused with 400),
 * so the body is read once, under the service's byte limit. To answer `Expect: 100-continue`
 * before the body is sent, add `app.server.on('checkContinue', continueListener(service, app.server, prefix))`.
 */
export const specdynRoutes: FastifyPluginAsync<SpecdynRoutesOptions> = async (app, opts) => {
  const service = opts.service;
  if (!(service instanceof AnalysisService))
    throw new TypeError(expected('an AnalysisService', "specdynRoutes option 'service'", service));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  for (const kind of ['weights', 'omd'] as AnalysisKind[]) {
    app.post(`/${kind}`, async (request, reply) => {
      const r = await service.handle(kind, {
        body: (request.body as AsyncIterable<Uint8Array> | undefined) ?? noBody(),
        headers: request.headers,
        query: (request.query ?? {}) as Record<string, unknown>,
        signal: disconnectSignal(reply.raw),
        raw: request.raw,
      });
      return reply.code(r.status).headers(r.headers).send(r.body);
    });
  }
  app.get('/health', async (_request, reply) => {
    const r = service.healthResponse();
    return reply.code(r.status).headers(r.headers).send(r.body);
  });
  app.get('/columns', async (_request, reply) => {
    const r = service.columnsResponse();
    return reply.code(r.status).headers(r.headers).send(r.body);
  });
};

/** Options of {@link startServer}: the service's limits plus where to listen. */
export interface ServeOptions extends ServiceOptions {
  /** TCP port (default 8080; 0 = any free port). */
  port?: number;
  /** Interface to listen on (default '127.0.0.1', loopback only; '0.0.0.0' for every interface). */
  host?: string;
  /** Longest time a request may take to arrive in full, in ms (default 120 000; slow uploads are cut off). */
  requestTimeoutMs?: number;
}

/** A running server. */
export interface RunningServer {
  /** Base URL of the routes, e.g. 'http://127.0.0.1:8080/v1'. */
  url: string;
  port: number;
  app: FastifyInstance;
  service: AnalysisService;
  /** Stops admitting (503), waits for the admitted requests, then closes the listener. */
  close(): Promise<void>;
}

/**
 * Starts the standalone server: Fastify with {@link specdynRoutes} under `/v1`, no logger, and
 * {@link continueListener} answering `Expect: 100-continue` (a full queue or an over-limit
 * Content-Length is refused before the client uploads its body).
 * @throws TypeError/RangeError for a bad option; the listen error (EADDRINUSE, EACCES) as is.
 */
export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const { port = 8080, host = '127.0.0.1', requestTimeoutMs = 120_000, ...limits } = options;
  checkInteger(port, 'port', { min: 0, max: 65535 });
  if (typeof host !== 'string' || host === '') throw new TypeError(expected('a host name or address', 'host', host));
  checkInteger(requestTimeoutMs, 'requestTimeoutMs', { min: 1 });
  requirePeers(['fastify'], { entry: 'specdyn serve', install: FASTIFY_INSTALL });
  const { default: Fastify } = await import('fastify');
  const service = new AnalysisService(limits);
  const app = Fastify({ logger: false, requestTimeout: requestTimeoutMs, forceCloseConnections: 'idle' });
  await app.register(specdynRoutes, { prefix: '/v1', service });
  // Expect: 100-continue on /v1/weights and /v1/omd: refused before the body is sent when full.
  app.server.on('checkContinue', continueListener(service, app.server, '/v1'));
  await app.listen({ port, host });
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}/v1`,
    port: bound,
    app,
    service,
    close: async () => {
      await service.close();
      await app.close();
    },
  };
}
