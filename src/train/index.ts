/**
 * specdyn/train: training-side helpers. Importing this entry loads TensorFlow.js (through
 * `loadTf`, lazily) and is kept apart from the main `specdyn` entry, which never loads tfjs.
 */
export { loadTf, BACKEND_CHOICES, TF_BACKEND_NAMES } from './backend.js';
export type { Tf, BackendChoice, LoadTfOptions, LoadedTf, BackendAttempt } from './backend.js';
export {
  registerNativeBackend,
  SpecdynNativeBackend,
  NATIVE_BACKEND_NAME,
  NATIVE_BACKEND_PRIORITY,
  NATIVE_KERNELS,
} from './native-kernels.js';
