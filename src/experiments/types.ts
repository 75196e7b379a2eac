/**
 * The contract every experiment follows, so that the CLI (`specdyn experiment <name>`), the
 * main job (`specdyn demo`) and the sweeps (`specdyn sweep`) drive them alike: a named, documented
 * list of parameters with defaults, and one `run(params, context)` that writes one run directory.
 *
 * A sweep cell is one `run` of an experiment with one assignment of its parameters; its run
 * directory is named by {@link cellKey}, a stable function of the experiment and the parameters.
 */
import { createHash } from 'node:crypto';
import { SpecdynError, expected } from '../errors.js';

/** A parameter value: what a config file, a flag or a sweep axis can hold. */
export type ParamValue = number | string | boolean;

/** One assignment of an experiment's parameters (every key of its {@link Experiment.params}). */
export type Params = Record<string, ParamValue>;

/** One parameter of an experiment: key (camelCase; `--kebab-case` on the command line), kind, default, help. */
export interface ParamSpec {
  key: string;
  kind: 'int' | 'number' | 'string' | 'bool';
  default: ParamValue;
  doc: string;
  /** Inclusive bounds of a number. */
  min?: number;
  max?: number;
  /** The allowed values of a string. */
  choices?: readonly string[];
}

/** What the runner hands an experiment. */
export interface ExperimentContext {
  /** The run directory to write. It does not exist yet, or is empty; the experiment creates it. */
  out: string;
  /** Stops the experiment; a stopped experiment leaves what it completed readable and rejects with AbortError. */
  signal: AbortSignal;
  /** Progress of long work: `done` of `total` units, with an optional label of the current unit. */
  progress(done: number, total: number, label?: string): void;
  /** One line of human-readable narration (the CLI prints it unless --quiet/--json). */
  log(line: string): void;
}

/** What an experiment returns besides its run directory. */
export interface ExperimentResult {
  /** The run directory written (`context.out`). */
  dir: string;
  /** The path of the report written, if any. */
  report?: string;
  /** The experiment's key figures, flat and JSON-safe (no NaN: null for "not measured"). */
  figures: Record<string, number | string | boolean | null>;
  /** The summary the CLI prints, one line each. */
  summary: string[];
}

/** An experiment: a named computation that writes one run directory. */
export interface Experiment {
  /** Name on the command line and in sweep files (kebab-case). */
  name: string;
  /** One line for `specdyn experiment --help`. */
  description: string;
  /** Its parameters, with defaults. */
  params: readonly ParamSpec[];
  /** Parameter values of the `--quick` mode (overrides of the defaults). */
  quick?: Readonly<Params>;
  /** Runs with fully resolved parameters (see {@link resolveParams}). */
  run(params: Params, context: ExperimentContext): Promise<ExperimentResult>;
}

/** A bad experiment name or parameter (the CLI exits with code 2). */
export class ParamError extends SpecdynError {}

/**
 * Resolves an assignment against an experiment's parameters: defaults, then the quick-mode
 * overrides when `quick`, then `given`. Strings given for number, integer or bool parameters
 * (command-line flags) are parsed.
 *
 * @throws ParamError naming an unknown key (with the known ones) or a value of the wrong kind,
 *   out of range or not among the choices.
 */
export function resolveParams(experiment: Experiment, given: Readonly<Record<string, unknown>>, quick = false): Params {
  const specs = new Map(experiment.params.map((p) => [p.key, p]));
  for (const key of Object.keys(given)) {
    if (!specs.has(key)) {
      throw new ParamError(
        expected(`one of the parameters of '${experiment.name}' (${[...specs.keys()].join(', ')})`, 'parameter', key),
      );
    }
  }
  const out: Params = {};
  for (const spec of experiment.params) {
    const raw =
      given[spec.key] !== undefined
        ? given[spec.key]
        : quick && experiment.quick?.[spec.key] !== undefined
          ? experiment.quick[spec.key]
          : spec.default;
    out[spec.key] = checkParam(spec, raw, `${experiment.name}.${spec.key}`);
  }
  return out;
}

/** Checks (and parses, if a string) one parameter value. @throws ParamError. */
export function checkParam(spec: ParamSpec, raw: unknown, name = spec.key): ParamValue {
  const bad = (what: string): never => {
    throw new ParamError(expected(what, name, raw));
  };
  switch (spec.kind) {
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      return bad('true or false');
    }
    case 'string': {
      if (typeof raw !== 'string') return bad(spec.choices ? `one of ${spec.choices.join(', ')}` : 'a string');
      if (spec.choices && !spec.choices.includes(raw)) return bad(`one of ${spec.choices.join(', ')}`);
      return raw;
    }
    default: {
      const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      const range = `${spec.min ?? '-∞'}, ${spec.max ?? '∞'}`;
      const what = spec.kind === 'int' ? `an integer in [${range}]` : `a finite number in [${range}]`;
      if (typeof v !== 'number' || !Number.isFinite(v)) return bad(what);
      if (spec.kind === 'int' && !Number.isInteger(v)) return bad(what);
      if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) return bad(what);
      return v;
    }
  }
}

/**
 * A stable, file-name-safe key of one cell: the experiment name, the parameters in key order as
 * `key=value`, and a 10-hex-digit digest of their canonical JSON (so keys that sanitise alike
 * never collide). The same experiment and parameters give the same key on every machine.
 * Example: `lr-cell_learningRate=0.1_seed=2_3f2a9c01be`.
 */
export function cellKey(experiment: string, params: Readonly<Params>): string {
  const keys = Object.keys(params).sort();
  const canonical = JSON.stringify([experiment, keys.map((k) => [k, params[k]])]);
  const digest = createHash('sha256').update(canonical).digest('hex').slice(0, 10);
  const parts = keys.map((k) => `${k}=${String(params[k])}`.replace(/[^A-Za-z0-9.=+-]/g, '-'));
  const readable = [experiment, ...parts].join('_');
  return `${readable.length > 150 ? readable.slice(0, 150) : readable}_${digest}`;
}
