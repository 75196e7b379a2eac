/**
 * specdyn/train: training-side helpers. The TensorFlow.js backend and `loadTf` live in
 * specdyn/tfjs; they are re-exported here so `import { loadTf } from 'specdyn/train'` keeps
 * working.
 */
export { loadTf, BACKEND_CHOICES, TF_BACKEND_NAMES } from '../tfjs/index.js';
export type { Tf, BackendChoice, LoadTfOptions, LoadedTf, BackendAttempt } from '../tfjs/index.js';
export {
  registerNativeBackend,
  SpecdynNativeBackend,
  NATIVE_BACKEND_NAME,
  NATIVE_BACKEND_PRIORITY,
  NATIVE_KERNELS,
} from '../tfjs/index.js';
export { analyzeModel, modelKernels, layerKernel, walkLayers } from './analyze-model.js';
export type { AnalyzeModelOptions, ModelKernel, ModelLike, LayerLike, TensorLike } from './analyze-model.js';
export { analyzeKernels, analyzeKernelsSync, weightLayerNames } from './analyze-model.js';
export { SpectralMonitor } from './monitor.js';
export type {
  CaptureOptions,
  MonitorCloseOptions,
  MonitorOptions,
  MonitorSnapshot,
  MonitorStats,
  Schedule,
} from './monitor.js';
export type { MonitorPoint } from './snapshot-analysis.js';
