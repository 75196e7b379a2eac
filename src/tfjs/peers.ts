/**
 * TensorFlow.js is an optional peer dependency of specdyn: only the tfjs entry points need it.
 * The check itself is the generic one of ../peers.ts; this module names the tfjs packages and
 * the command that installs them.
 */
import { isInstalled, requirePeers } from '../peers.js';

export { isInstalled };

/** The TensorFlow.js packages specdyn/tfjs imports, with the version range it is tested with. */
export const TFJS_PEERS: readonly string[] = [
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
];

/** The recommended install: the peers above plus the wasm backend loadTf falls back to. */
export const TFJS_INSTALL = 'npm install @tensorflow/tfjs@^4.22.0 @tensorflow/tfjs-backend-wasm@^4.22.0';

/**
 * Throws unless every package in `packages` resolves from specdyn's location.
 * @throws SpecdynError naming the missing packages and the command that installs them.
 */
export function requireTfjsPeers(packages: readonly string[] = TFJS_PEERS, entry = 'specdyn/tfjs'): void {
  requirePeers(packages, { entry, install: TFJS_INSTALL, name: 'TensorFlow.js' });
}
