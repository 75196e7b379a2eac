/**
 * Optional peer dependencies: packages only some entry points need (TensorFlow.js for training,
 * apache-arrow for the run store, vega + vega-lite for the report). An app that only analyses
 * installs none of them. Each entry checks for its peers without importing them, so a missing
 * install is one clear message naming what to install, raised when a function that needs the
 * peer runs, instead of a module-resolution error from deep inside the import graph.
 */
import { createRequire } from 'node:module';
import { SpecdynError } from './errors.js';

/**
 * Whether `pkg` resolves from specdyn's location (Node's resolution, also under a bundler such as
 * vite, whose own resolver reports a missing package without Node's error code).
 */
export function isInstalled(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** The errors {@link requirePeers} threw (a mark that leaves the error objects as they are). */
const missingPeerErrors = new WeakSet<Error>();

/**
 * The missing-peer error ({@link requirePeers}) behind `err`: `err` itself or the nearest one in
 * its `cause` chain (callers that add context wrap it), else undefined. The CLI prints that one.
 */
export function missingPeerIn(err: unknown): SpecdynError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (missingPeerErrors.has(e)) return e as SpecdynError;
  }
  return undefined;
}

/** What {@link requirePeers} says about a missing peer. */
export interface PeerRequirement {
  /** Who needs the peers, as the message's subject: 'specdyn/tfjs', "specdyn's run store". */
  entry: string;
  /** The command that installs them, e.g. 'npm install apache-arrow@^21.1.0'. */
  install: string;
  /**
   * What the peers are, in the message: 'TensorFlow.js' (spoken of as one peer dependency).
   * Default: the package names joined with 'and' (one peer dependency per package).
   */
  name?: string;
}

/**
 * Throws unless every package in `packages` resolves from specdyn's location.
 * @throws SpecdynError "<entry> needs <name>, an optional peer dependency of specdyn that is not
 * installed (missing: <packages>). Install it in your app: <install>" (plural forms for several
 * packages without a `name`).
 */
export function requirePeers(packages: readonly string[], { entry, install, name }: PeerRequirement): void {
  const missing = packages.filter((p) => !isInstalled(p));
  if (missing.length === 0) return;
  const plural = name === undefined && packages.length > 1;
  const what = name ?? packages.join(' and ');
  const err = new SpecdynError(
    `${entry} needs ${what}, ${plural ? 'optional peer dependencies' : 'an optional peer dependency'} of specdyn that ${plural ? 'are' : 'is'} not installed ` +
      `(missing: ${missing.join(', ')}). Install ${plural ? 'them' : 'it'} in your app: ${install}`,
  );
  missingPeerErrors.add(err);
  throw err;
}
