/**
 * Sweep descriptions (`sweep.json`) and their expansion into cells.
 *
 * A sweep file is one JSON object:
 *
 * ```json
 * {
 *   "experiment": "teacher-student-cell",
 *   "grid": { "invSigmaW": [0.5, 1, 2], "lr": { "logspace": [-1, 0.3, 4] } },
 *   "seeds": [0, 1],
 *   "params": { "n": 60, "m": 120 },
 *   "quick": false
 * }
 * ```
 *
 * `grid` maps parameter keys to axis values (an array, or `{ "linspace" | "logspace": [lo, hi,
 * count] }`); `seeds` is a shorthand for a last axis `seed`; `params` holds the values every cell
 * shares (per-cell options); `quick` starts from the experiment's quick-mode values. The cells are
 * the Cartesian product of the axes, the first axis outermost and the seeds innermost: a fixed,
 * ordered list, each cell named by {@link cellKey} of its fully resolved parameters.
 */
import { expected } from '../errors.js';
import { checkParam, cellKey, ParamError, resolveParams, type Experiment, type Params } from '../experiments/types.js';
import type { ParamValue } from '../experiments/types.js';

/** A sweep file refused before any work (the CLI exits with code 2, as for a bad parameter). */
export class SweepSpecError extends ParamError {}

/** A sweep description as given (see the module doc for the format). */
export interface SweepSpec {
  /** Registry name of the experiment every cell runs. */
  experiment: string;
  /** Axis values per parameter key, in axis order (first outermost). */
  grid: Record<string, ParamValue[]>;
  /** The values of the `seed` axis (innermost), if any. */
  seeds?: number[];
  /** Values shared by every cell. */
  params?: Record<string, ParamValue>;
  /** Start from the experiment's quick-mode values (default false). */
  quick?: boolean;
}

/** One cell of a sweep: its place in the order, its stable key and its resolved parameters. */
export interface Cell {
  /** 0-based position in the sweep's order. */
  index: number;
  /** {@link cellKey} of the experiment and `params`: the cell's directory name under the sweep root. */
  key: string;
  /** Every parameter of the experiment, resolved (defaults, quick values, shared values, axis values). */
  params: Params;
}

/** A validated, expanded sweep. */
export interface ExpandedSweep {
  spec: SweepSpec;
  /** The axis keys in order (grid keys, then `seed` when `seeds` is given). */
  axes: string[];
  cells: Cell[];
}

const SPEC_KEYS = ['experiment', 'grid', 'seeds', 'params', 'quick'];

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Axis values written as `{ linspace: [lo, hi, count] }` or `{ logspace: [lo, hi, count] }` (exponents of 10). */
function rangeAxis(x: Record<string, unknown>, name: string): number[] {
  const kinds = Object.keys(x);
  const kind = kinds[0];
  if (kinds.length !== 1 || (kind !== 'linspace' && kind !== 'logspace'))
    throw new SweepSpecError(
      expected('an array of values or { "linspace" | "logspace": [lo, hi, count] }', name, JSON.stringify(x)),
    );
  const r = x[kind];
  const ok =
    Array.isArray(r) &&
    r.length === 3 &&
    r.every((v) => typeof v === 'number' && Number.isFinite(v)) &&
    Number.isInteger(r[2]) &&
    (r[2] as number) >= 1;
  if (!ok)
    throw new SweepSpecError(
      expected('[lo, hi, count] (finite numbers, count an integer ≥ 1)', `${name}.${kind}`, JSON.stringify(r)),
    );
  const [lo, hi, count] = r as [number, number, number];
  return Array.from({ length: count }, (_, k) => {
    const u = count === 1 ? lo : lo + ((hi - lo) * k) / (count - 1);
    return kind === 'logspace' ? 10 ** u : u;
  });
}

/**
 * Parses and checks the shape of a sweep description (not yet against an experiment).
 * @throws SweepSpecError naming the field and the value (not an object, unknown field, no
 *   experiment, no grid, an empty axis, a value that is not a number, string or boolean).
 */
export function parseSweepSpec(raw: unknown, source = 'the sweep file'): SweepSpec {
  if (!isObject(raw)) throw new SweepSpecError(expected('a JSON object', source, raw));
  for (const k of Object.keys(raw))
    if (!SPEC_KEYS.includes(k))
      throw new SweepSpecError(expected(`one of the fields ${SPEC_KEYS.join(', ')}`, `${source} field`, k));
  if (typeof raw.experiment !== 'string' || raw.experiment === '')
    throw new SweepSpecError(expected('an experiment name', `${source} field 'experiment'`, raw.experiment));
  if (!isObject(raw.grid))
    throw new SweepSpecError(expected('an object of axes { key: [values] }', `${source} field 'grid'`, raw.grid));
  const grid: Record<string, ParamValue[]> = {};
  for (const [key, axis] of Object.entries(raw.grid)) {
    const name = `grid.${key}`;
    const values = isObject(axis) ? rangeAxis(axis, name) : axis;
    if (!Array.isArray(values)) throw new SweepSpecError(expected('an array of values', name, values));
    if (values.length === 0) throw new SweepSpecError(expected('a non-empty axis', name, values));
    values.forEach((v, i) => {
      if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean')
        throw new SweepSpecError(expected('a number, string or boolean', `${name}[${i}]`, JSON.stringify(v)));
    });
    grid[key] = values as ParamValue[];
  }
  let seeds: number[] | undefined;
  if (raw.seeds !== undefined) {
    if (!Array.isArray(raw.seeds) || raw.seeds.length === 0)
      throw new SweepSpecError(
        expected('a non-empty array of integer seeds', `${source} field 'seeds'`, JSON.stringify(raw.seeds)),
      );
    raw.seeds.forEach((s, i) => {
      if (!Number.isInteger(s)) throw new SweepSpecError(expected('an integer', `seeds[${i}]`, s));
    });
    if ('seed' in grid) throw new SweepSpecError(expected("either 'seeds' or a grid axis 'seed'", source, 'both'));
    seeds = raw.seeds as number[];
  }
  if (Object.keys(grid).length === 0 && !seeds)
    throw new SweepSpecError(expected('at least one axis (grid or seeds)', `${source} field 'grid'`, '{}'));
  let params: Record<string, ParamValue> | undefined;
  if (raw.params !== undefined) {
    if (!isObject(raw.params))
      throw new SweepSpecError(expected('an object of shared values', `${source} field 'params'`, raw.params));
    for (const [k, v] of Object.entries(raw.params)) {
      if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean')
        throw new SweepSpecError(expected('a number, string or boolean', `params.${k}`, JSON.stringify(v)));
      if (k in grid || (k === 'seed' && seeds))
        throw new SweepSpecError(expected('a key that is not also a sweep axis', `params.${k}`, v));
    }
    params = raw.params as Record<string, ParamValue>;
  }
  if (raw.quick !== undefined && typeof raw.quick !== 'boolean')
    throw new SweepSpecError(expected('true or false', `${source} field 'quick'`, raw.quick));
  return {
    experiment: raw.experiment,
    grid,
    ...(seeds ? { seeds } : {}),
    ...(params ? { params } : {}),
    ...(raw.quick !== undefined ? { quick: raw.quick as boolean } : {}),
  };
}

/**
 * Checks one axis or shared value against the experiment's parameter: a number parameter takes
 * JSON numbers only (a string such as "0.1" in a sweep file is refused, not parsed).
 */
function checkValue(experiment: Experiment, key: string, raw: ParamValue, name: string): ParamValue {
  const spec = experiment.params.find((p) => p.key === key);
  if (!spec)
    throw new SweepSpecError(
      expected(
        `one of the parameters of '${experiment.name}' (${experiment.params.map((p) => p.key).join(', ')})`,
        'parameter',
        key,
      ),
    );
  if ((spec.kind === 'number' || spec.kind === 'int') && typeof raw !== 'number')
    throw new SweepSpecError(expected(spec.kind === 'int' ? 'an integer' : 'a number', name, raw));
  try {
    return checkParam(spec, raw, name);
  } catch (err) {
    throw new SweepSpecError((err as Error).message, { cause: err });
  }
}

/**
 * Expands a sweep against its experiment: every axis and shared value checked with the
 * experiment's {@link ParamSpec}, the Cartesian product in order, each cell's parameters fully
 * resolved and keyed.
 * @throws SweepSpecError for an unknown parameter, a value of the wrong kind or out of range,
 *   or two cells with the same parameters (a repeated axis value).
 */
export function expandSweep(spec: SweepSpec, experiment: Experiment): ExpandedSweep {
  if (experiment.name !== spec.experiment)
    throw new SweepSpecError(expected(`the experiment '${spec.experiment}'`, 'experiment', experiment.name));
  const axes: [string, ParamValue[]][] = Object.entries(spec.grid).map(([key, values]) => [
    key,
    values.map((v, i) => checkValue(experiment, key, v, `grid.${key}[${i}]`)),
  ]);
  if (spec.seeds) axes.push(['seed', spec.seeds.map((s, i) => checkValue(experiment, 'seed', s, `seeds[${i}]`))]);
  const shared: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(spec.params ?? {})) shared[k] = checkValue(experiment, k, v, `params.${k}`);
  const cells: Cell[] = [];
  const seen = new Map<string, number>();
  const total = axes.reduce((n, [, v]) => n * v.length, 1);
  for (let index = 0; index < total; index++) {
    const point: Record<string, ParamValue> = { ...shared };
    let rest = index;
    for (let a = axes.length - 1; a >= 0; a--) {
      const [key, values] = axes[a]!;
      point[key] = values[rest % values.length]!;
      rest = Math.floor(rest / values.length);
    }
    const params = resolveParams(experiment, point, spec.quick ?? false);
    const key = cellKey(experiment.name, params);
    const before = seen.get(key);
    if (before !== undefined)
      throw new SweepSpecError(
        expected('distinct cells (no repeated axis value)', `cell ${index}`, JSON.stringify(point)) +
          ` (the same parameters as cell ${before})`,
      );
    seen.set(key, index);
    cells.push({ index, key, params });
  }
  return { spec, axes: axes.map(([k]) => k), cells };
}

/** A share of a sweep: shard `index` of `count` takes the cells whose index ≡ `index` (mod `count`). */
export interface Shard {
  index: number;
  count: number;
}

/** The cells of one shard, round-robin over the order (so every shard gets a slice of each axis). */
export function shardCells(cells: readonly Cell[], shard: Shard | undefined): Cell[] {
  if (!shard) return [...cells];
  return cells.filter((c) => c.index % shard.count === shard.index);
}

/**
 * Parses `--shard i/n` (0 ≤ i < n).
 * @throws SweepSpecError naming --shard and the value.
 */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN,
    count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count))
    throw new SweepSpecError(expected('i/n with 0 ≤ i < n (e.g. 0/4)', '--shard', text));
  return { index, count };
}

/**
 * The shard given by a scheduler's environment, or undefined when none is set:
 * - Slurm job arrays: `SLURM_ARRAY_TASK_ID` with `SLURM_ARRAY_TASK_MIN`, `_MAX`, `_STEP` and
 *   `_COUNT`. Task ids need not start at 0 or step by 1 (`--array=1-9:2` is shard (id − 1)/2 of
 *   5); the ids must form one arithmetic range (COUNT = (MAX − MIN)/STEP + 1), since a list such
 *   as `--array=1,4,10` does not tell a task its position.
 * - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` (0-based); the count (the Job's
 *   `completions`) is not in the environment and must be passed as `count`.
 * @throws SweepSpecError for inconsistent Slurm variables, or an Indexed Job without `count`.
 */
export function shardFromEnv(env: NodeJS.ProcessEnv, count?: number): Shard | undefined {
  const int = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v.trim())) throw new SweepSpecError(expected('a non-negative integer', name, v));
    return Number(v);
  };
  const id = int('SLURM_ARRAY_TASK_ID');
  if (id !== undefined) {
    const min = int('SLURM_ARRAY_TASK_MIN') ?? 0;
    const step = int('SLURM_ARRAY_TASK_STEP') ?? 1;
    const max = int('SLURM_ARRAY_TASK_MAX');
    const n = int('SLURM_ARRAY_TASK_COUNT') ?? (max !== undefined ? Math.floor((max - min) / step) + 1 : undefined);
    if (n === undefined)
      throw new SweepSpecError(
        expected(
          'SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MAX with SLURM_ARRAY_TASK_ID',
          'the Slurm environment',
          `SLURM_ARRAY_TASK_ID=${id}`,
        ),
      );
    if (step < 1) throw new SweepSpecError(expected('a step ≥ 1', 'SLURM_ARRAY_TASK_STEP', step));
    if (max !== undefined && Math.floor((max - min) / step) + 1 !== n)
      throw new SweepSpecError(
        expected(
          'task ids forming one range MIN..MAX by STEP (e.g. --array=0-99 or 1-9:2); for a list of ids pass --shard i/n',
          'the Slurm array',
          `MIN=${min} MAX=${max} STEP=${step} COUNT=${n}`,
        ),
      );
    if (id < min || (id - min) % step !== 0 || (id - min) / step >= n)
      throw new SweepSpecError(
        expected(`a task id in ${min}..${min + (n - 1) * step} by ${step}`, 'SLURM_ARRAY_TASK_ID', id),
      );
    return { index: (id - min) / step, count: n };
  }
  const k = int('JOB_COMPLETION_INDEX');
  if (k !== undefined) {
    if (count === undefined)
      throw new SweepSpecError(
        expected(
          "the number of shards (--shards n, the Job's completions)",
          'a Kubernetes Indexed Job',
          `JOB_COMPLETION_INDEX=${k}`,
        ),
      );
    if (k >= count) throw new SweepSpecError(expected(`an index below --shards ${count}`, 'JOB_COMPLETION_INDEX', k));
    return { index: k, count };
  }
  return undefined;
}
