/**
 * specdyn as a service: weight spectra and OMD snapshot figures over HTTP, with bounded
 * admission (429 with Retry-After when full), upload and matrix limits (413), one-line 400s for
 * bad input, and cancellation of analyses whose client went away before they started.
 *
 * - {@link AnalysisService}: the framework-independent core (limits, queue, counters, health).
 * - {@link specdynRoutes}: a Fastify plugin; {@link startServer}: the standalone server of
 *   `specdyn serve`.
 * - {@link nodeHandler} / {@link nodeHealthHandler}: for node:http and Express;
 *   {@link continueListener}: `Expect: 100-continue` answered before the body is sent.
 * See docs/server.md.
 */
export {
  AnalysisService,
  resolveServiceOptions,
  type ServiceOptions,
  type AnalysisRequest,
  type AnalysisResponse,
  type ServiceCounts,
  type GcTally,
  type HealthReport,
} from './service.js';
export {
  specdynRoutes,
  startServer,
  type SpecdynRoutesOptions,
  type ServeOptions,
  type RunningServer,
} from './fastify.js';
export {
  nodeHandler,
  nodeHealthHandler,
  disconnectSignal,
  sendResponse,
  continueListener,
  prefixRoutes,
  type NodeHandler,
  type RouteMatcher,
} from './node.js';
export { HttpError } from './http-error.js';
export { AdmissionQueue, type QueueState } from './queue.js';
export type { AnalysisKind, BodyFormat, QueryInput } from './decode.js';
