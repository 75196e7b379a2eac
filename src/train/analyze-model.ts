/**
 * Model-level weight analysis for a TensorFlow.js LayersModel: one row per weight layer, like
 * WeightWatcher's `analyze()` DataFrame (the rows of {@link analyzeWeights}).
 *
 * Which layers, and which matrix each gives (WeightWatcher reads Keras the same way):
 * - `Dense`: the kernel [in, out], read as W = kernelᵀ (out x in; rows = outputs, M = fan-in).
 * - `Conv2D`: the kernel [kh, kw, in, out] as its kh·kw slices W_ij = kernel[i, j]ᵀ (out x in),
 *   their spectra pooled: rf = kh·kw, num_evals = rf · min(in, out), one MP law of ratio out/in.
 * - `Embedding`: the table [vocabulary, dim] as it is (rows = tokens).
 * - Nested models (a model used as a layer) are walked in place.
 * Biases are never analysed (a vector has no spectrum); other layer types (normalisation,
 * Conv1D, depthwise, recurrent) are skipped, as WeightWatcher skips types it does not know.
 * `layer_id` is the layer's index in the walk of every layer (weighted or not), as in
 * WeightWatcher.
 */
import { expected, SpecdynError } from '../errors.js';
import type { Mat } from '../matrix.js';
import { weightRow, type AnalyzeWeightsOptions, type WeightLayerType, type WeightRow } from '../rmt/weights.js';
import { weightSpectrumSlices, weightSpectrumSlicesSync } from '../rmt/weight-spectrum.js';
import { checkObject, checkOneOf, checkOptionsObject } from '../validate.js';
import { copyValues } from '../tfjs/copy-read.js';

/** The parts of a tfjs tensor the analysis reads. */
export interface TensorLike {
  shape: number[];
  dataSync(): ArrayLike<number>;
}

/** The parts of a tfjs layer the analysis reads (a nested model has `layers`). */
export interface LayerLike {
  name: string;
  getClassName(): string;
  getWeights(trainableOnly?: boolean): TensorLike[];
  layers?: LayerLike[];
}

/** The parts of a tfjs LayersModel the analysis reads. */
export interface ModelLike {
  layers: LayerLike[];
}

/** One analysable weight layer found in a model: its kernel copied once to float32. */
export interface ModelKernel {
  /** Index in the walk of all layers (see module doc). */
  layerId: number;
  /** The layer name. */
  name: string;
  /** The tfjs class name (Dense, Conv2D, Embedding). */
  className: string;
  /** How it is read. */
  type: WeightLayerType;
  /** The kernel's tfjs shape. */
  shape: number[];
  /** The matrices W (rows = outputs): one for Dense and Embedding, kh·kw for Conv2D. Views on `data`. */
  slices: Mat<Float32Array>[];
  /** Whether the slices are tfjs kernels [in, out] (W = sliceᵀ). */
  kernel: boolean;
}

const TYPES: Record<string, WeightLayerType> = { Dense: 'dense', Conv2D: 'conv2d', Embedding: 'embedding' };

/** Walks a model's layers depth first (nested models in place), each with its walk index. */
export function walkLayers(model: ModelLike): Array<{ layerId: number; layer: LayerLike }> {
  checkObject(model, 'model', 'a tfjs LayersModel');
  if (!Array.isArray(model.layers))
    throw new TypeError(expected('a tfjs LayersModel (with a layers array)', 'model', model));
  const out: Array<{ layerId: number; layer: LayerLike }> = [];
  const visit = (layers: LayerLike[]): void => {
    for (const layer of layers) {
      if (Array.isArray(layer.layers) && layer.layers.length > 0) visit(layer.layers);
      else out.push({ layerId: out.length, layer });
    }
  };
  visit(model.layers);
  return out;
}

/**
 * The kernel of one weight layer as matrices (see module doc), copied once from tfjs (into a
 * buffer `spare` gives for its element count, when it gives one), or undefined for a layer
 * analyzeModel skips.
 */
export function layerKernel(
  layer: LayerLike,
  layerId: number,
  spare?: (length: number) => Float32Array | undefined,
): ModelKernel | undefined {
  const className = layer.getClassName();
  const type = TYPES[className];
  if (!type) return undefined;
  const weights = layer.getWeights();
  const k = weights[0];
  if (!k) return undefined; // not built yet
  const shape = [...k.shape];
  const data = copyValues(k, spare?.(shape.reduce((a, b) => a * b, 1)));
  if (type === 'conv2d') {
    const [kh, kw, cin, cout] = shape as [number, number, number, number];
    const size = cin * cout;
    const slices: Mat<Float32Array>[] = [];
    for (let s = 0; s < kh * kw; s++)
      slices.push({ data: data.subarray(s * size, (s + 1) * size), rows: cin, cols: cout });
    return { layerId, name: layer.name, className, type, shape, slices, kernel: true };
  }
  const [rows, cols] = shape as [number, number];
  return {
    layerId,
    name: layer.name,
    className,
    type,
    shape,
    slices: [{ data, rows, cols }],
    kernel: type === 'dense',
  };
}

/** Names of the layers analyzeModel reads (Dense, Conv2D, Embedding with a kernel), in walk order; nothing is copied. */
export function weightLayerNames(model: ModelLike): string[] {
  return walkLayers(model)
    .filter(({ layer }) => TYPES[layer.getClassName()] !== undefined && layer.getWeights().length > 0)
    .map(({ layer }) => layer.name);
}

/** Every analysable kernel of a model, in walk order, each copied once. */
export function modelKernels(model: ModelLike): ModelKernel[] {
  const out: ModelKernel[] = [];
  for (const { layerId, layer } of walkLayers(model)) {
    const k = layerKernel(layer, layerId);
    if (k) out.push(k);
  }
  return out;
}

/** Options of {@link analyzeModel}: those of analyzeWeights plus a layer filter. */
export interface AnalyzeModelOptions extends AnalyzeWeightsOptions {
  /** Analyse only these layers (names); default every Dense, Conv2D and Embedding layer. */
  layers?: string[];
}

/**
 * Analyses every weight layer of a tfjs LayersModel (see the module doc for what is read): one
 * {@link WeightRow} per layer in layer order, with `layer_id` and `name` from the model and
 * `layer_type` dense / conv2d / embedding. Layers run concurrently on the native pool.
 * A layer with too few eigenvalues (a 10 x 256 output layer) is a row whose NaN columns are
 * explained in `warning`.
 * @throws SpecdynError when the model has no weight layer it can read; RangeError naming an
 * unknown name in `layers`; TypeError for something that is not a LayersModel.
 */
export async function analyzeModel(model: ModelLike, options: AnalyzeModelOptions = {}): Promise<WeightRow[]> {
  checkOptionsObject(options);
  const convention = checkOneOf(options.convention ?? 'specdyn', 'convention', ['specdyn', 'weightwatcher']);
  let kernels = modelKernels(model);
  if (options.layers !== undefined) {
    if (!Array.isArray(options.layers))
      throw new TypeError(expected('an array of layer names', 'layers', options.layers));
    const known = new Map(kernels.map((k) => [k.name, k]));
    for (const name of options.layers) {
      if (!known.has(name))
        throw new RangeError(expected(`the name of a weight layer (${[...known.keys()].join(', ')})`, 'layers', name));
    }
    kernels = options.layers.map((n) => known.get(n)!);
  }
  if (kernels.length === 0)
    throw new SpecdynError(expected('a model with at least one Dense, Conv2D or Embedding layer', 'model', model));
  const { layers: _l, ...rest } = options;
  return analyzeKernels(kernels, { ...rest, convention });
}

/**
 * The rows of {@link analyzeModel} for kernels already taken from a model (modelKernels or
 * layerKernel), concurrently on the native pool, in input order.
 */
export async function analyzeKernels(
  kernels: ModelKernel[],
  options: AnalyzeWeightsOptions = {},
): Promise<WeightRow[]> {
  const { convention, spectrumOptions } = kernelOptions(options);
  return Promise.all(
    kernels.map(async (k) => {
      const row = await weightSpectrumSlices(k.slices, { ...spectrumOptions, kernel: k.kernel });
      return weightRow(row, { layerId: k.layerId, name: k.name, type: k.type, convention });
    }),
  );
}

/**
 * Synchronous {@link analyzeKernels}: one kernel after another on the calling thread (blocks the
 * event loop: for worker threads).
 */
export function analyzeKernelsSync(kernels: ModelKernel[], options: AnalyzeWeightsOptions = {}): WeightRow[] {
  const { convention, spectrumOptions } = kernelOptions(options);
  return kernels.map((k) =>
    weightRow(weightSpectrumSlicesSync(k.slices, { ...spectrumOptions, kernel: k.kernel }), {
      layerId: k.layerId,
      name: k.name,
      type: k.type,
      convention,
    }),
  );
}

function kernelOptions(options: AnalyzeWeightsOptions) {
  checkOptionsObject(options);
  const convention = checkOneOf(options.convention ?? 'specdyn', 'convention', ['specdyn', 'weightwatcher']);
  const { convention: _c, ...spectrumOptions } = options;
  return { convention, spectrumOptions };
}
