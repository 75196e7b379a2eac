/**
 * specdyn/tfjs: the TensorFlow.js side of specdyn. `loadTf()` picks the fastest backend that
 * loads here, and 'specdyn-native' is the cpu backend with its products and element-wise kernels
 * on OpenBLAS through the specdyn addon. This entry is kept apart from the main `specdyn` entry,
 * which never loads tfjs.
 *
 * TensorFlow.js is an optional peer dependency: this entry checks for it before importing it
 * (hence the dynamic imports below) and throws one SpecdynError naming what to install.
 */
import { requireTfjsPeers } from './peers.js';

requireTfjsPeers();

const backend = await import('./backend.js');
const kernels = await import('./native-kernels.js');

export type { Tf, BackendChoice, LoadTfOptions, LoadedTf, BackendAttempt } from './backend.js';
/** Imports TensorFlow.js and activates the fastest backend that loads here (see LoadTfOptions). */
export const loadTf: typeof import('./backend.js').loadTf = backend.loadTf;
/** The backends loadTf knows, in its order of preference. */
export const BACKEND_CHOICES: typeof import('./backend.js').BACKEND_CHOICES = backend.BACKEND_CHOICES;
/** The tfjs backend name each choice registers. */
export const TF_BACKEND_NAMES: typeof import('./backend.js').TF_BACKEND_NAMES = backend.TF_BACKEND_NAMES;
/** Registers the 'specdyn-native' backend with tfjs (idempotent). */
export const registerNativeBackend: typeof import('./native-kernels.js').registerNativeBackend =
  kernels.registerNativeBackend;
/** The 'specdyn-native' backend class (tfjs's cpu backend with native kernels). */
export const SpecdynNativeBackend: typeof import('./native-kernels.js').SpecdynNativeBackend =
  kernels.SpecdynNativeBackend;
/** The 'specdyn-native' backend instance type. */
export type SpecdynNativeBackend = import('./native-kernels.js').SpecdynNativeBackend;
/** The name under which the backend is registered with tfjs. */
export const NATIVE_BACKEND_NAME: typeof import('./native-kernels.js').NATIVE_BACKEND_NAME =
  kernels.NATIVE_BACKEND_NAME;
/** Registration priority of 'specdyn-native' (above wasm and cpu, below tfjs-node). */
export const NATIVE_BACKEND_PRIORITY: typeof import('./native-kernels.js').NATIVE_BACKEND_PRIORITY =
  kernels.NATIVE_BACKEND_PRIORITY;
/** Kernels 'specdyn-native' computes natively. */
export const NATIVE_KERNELS: typeof import('./native-kernels.js').NATIVE_KERNELS = kernels.NATIVE_KERNELS;
