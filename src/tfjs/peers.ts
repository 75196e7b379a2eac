/**
 * TensorFlow.js is an optional peer dependency of specdyn: only the tfjs entry points need it.
 * This module checks for it without importing it, so a missing install is one clear message
 * instead of a module-resolution error from deep inside the import graph.
 */
import { createRequire } from 'node:module';
import { SpecdynError } from '../errors.js';

/** The TensorFlow.js packages specdyn/tfjs imports, with the version range it is tested with. */
export const TFJS_PEERS: readonly string[] = ['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu'];

/** The recommended install: the peers above plus the wasm backend loadTf falls back to. */
export const TFJS_INSTALL = 'npm install @tensorflow/tfjs@^4.22.0 @tensorflow/tfjs-backend-wasm@^4.22.0';

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

/**
 * Throws unless every package in `packages` resolves from specdyn's location.
 * @throws SpecdynError naming the missing packages and the command that installs them.
 */
export function requireTfjsPeers(packages: readonly string[] = TFJS_PEERS, entry = 'specdyn/tfjs'): void {
  const missing = packages.filter((p) => !isInstalled(p));
  if (missing.length === 0) return;
  throw new SpecdynError(
    `${entry} needs TensorFlow.js, an optional peer dependency of specdyn that is not installed ` +
      `(missing: ${missing.join(', ')}). Install it in your app: ${TFJS_INSTALL}`,
  );
}
