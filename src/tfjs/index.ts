/**
 * specdyn/tfjs: the TensorFlow.js side of specdyn. `loadTf()` picks the fastest backend that
 * loads here, and 'specdyn-native' is the cpu backend with its products and element-wise kernels
 * on OpenBLAS through the specdyn addon. This entry is kept apart from the main `specdyn` entry,
 * which never loads tfjs.
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
