/**
 * `specdyn demo` (the main job: real MNIST training under the monitor; `--synthetic` for the
 * synthetic showcase) and `specdyn experiment <name>` (any experiment of the registry, its flags
 * generated from the experiment's parameters: `--kebab-case <value>`, `--flag`/`--no-flag` for
 * booleans, `--quick`, `--out <dir>`; without a name, the list of experiments).
 */
import { type Command, Option } from 'commander';
import { AbortError, expected } from '../errors.js';
import { demoExperiment } from '../experiments/demo.js';
import { getExperiment, listExperiments } from '../experiments/registry.js';
import { ParamError, resolveParams, type Experiment, type ParamSpec, type Params } from '../experiments/types.js';
import { EXIT_INTERRUPTED, examples, type CliContext } from './context.js';
import type { Output } from './output.js';
import { flagName } from './train-config.js';

/** Default run directory of an experiment: runs/<name>-<ISO time, file-name-safe>. */
export function defaultRunDir(name: string): string {
  return `runs/${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
}

/** The help line of one parameter: flag, kind, default, bounds or choices. */
function paramHelp(p: ParamSpec): [string, string] {
  const flag =
    p.kind === 'bool' ? `--${flagName(p.key)} / --no-${flagName(p.key)}` : `--${flagName(p.key)} <${p.kind}>`;
  const range =
    p.choices !== undefined
      ? `; one of ${p.choices.join(', ')}`
      : p.min !== undefined || p.max !== undefined
        ? `; in [${p.min ?? '-∞'}, ${p.max ?? '∞'}]`
        : '';
  return [flag, `${p.doc} (default ${String(p.default)}${range})`];
}

/** The help text of an experiment's flags. */
export function experimentHelp(e: Experiment): string {
  const rows = [
    ...e.params.map(paramHelp),
    [
      '--quick',
      `the smallest mode (${
        Object.entries(e.quick ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(', ') || 'the defaults'
      })`,
    ],
    ['--out <dir>', 'run directory (default runs/<name>-<timestamp>)'],
  ] as [string, string][];
  const w = Math.max(...rows.map((r) => r[0].length));
  return `Usage: specdyn experiment ${e.name} [flags]\n\n${e.description}\n\nFlags:\n${rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join('\n')}\n`;
}

/**
 * Parses an experiment's command-line flags (`--kebab-case value`, `--kebab-case=value`,
 * `--flag`/`--no-flag` for booleans, `--quick`, `--out <dir>`, `--help`).
 * @throws ParamError for an unknown flag (naming the known ones), a missing value or a stray argument.
 */
export function parseExperimentFlags(
  e: Experiment,
  args: readonly string[],
): { given: Record<string, string | boolean>; quick: boolean; out?: string; help: boolean } {
  const byFlag = new Map(e.params.map((p) => [flagName(p.key), p]));
  const given: Record<string, string | boolean> = {};
  let quick = false,
    help = false,
    out: string | undefined;
  const known = () => [...byFlag.keys()].map((f) => `--${f}`).join(', ');
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (a === '--quick') {
      quick = true;
      continue;
    }
    if (!a.startsWith('--'))
      throw new ParamError(expected(`a flag of '${e.name}' (${known()}, --quick, --out)`, 'argument', a));
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    const next = (): string => {
      if (inline !== undefined) return inline;
      const v = args[i + 1];
      if (v === undefined || (v.startsWith('--') && v !== '--'))
        throw new ParamError(expected('a value', `--${name}`, v));
      i++;
      return v;
    };
    if (name === 'out' || name === 'o') {
      out = next();
      continue;
    }
    const spec = byFlag.get(name);
    if (spec) {
      if (spec.kind === 'bool') {
        given[spec.key] = inline ?? true;
      } else given[spec.key] = next();
      continue;
    }
    const neg = name.startsWith('no-') ? byFlag.get(name.slice(3)) : undefined;
    if (neg && neg.kind === 'bool' && inline === undefined) {
      given[neg.key] = false;
      continue;
    }
    throw new ParamError(expected(`a flag of '${e.name}' (${known()}, --quick, --out)`, 'flag', a));
  }
  return { given, quick, out, help };
}

/**
 * Runs an experiment with resolved parameters under the command's Output: progress bars per
 * label, narration on stderr, the summary (or with --json the result) on stdout. An interrupted
 * experiment sets exit code 130.
 */
export async function runExperiment(
  e: Experiment,
  params: Params,
  outDir: string,
  o: Output,
  context: CliContext,
): Promise<void> {
  let bar: ReturnType<Output['progress']> | undefined;
  let barLabel = '';
  let barTotal = -1;
  const t0 = performance.now();
  try {
    const result = await e.run(params, {
      out: outDir,
      signal: context.state.abort.signal,
      progress(done, total, label = e.name) {
        if (!bar || label !== barLabel || total !== barTotal) {
          bar?.done();
          bar = o.progress(label, total);
          barLabel = label;
          barTotal = total;
        }
        bar.update(done);
      },
      log: (line) => {
        bar?.done();
        bar = undefined;
        o.info(line);
      },
    });
    bar?.done();
    const seconds = (performance.now() - t0) / 1000;
    o.result({ experiment: e.name, params, seconds, ...result }, () =>
      [...result.summary, `done in ${seconds.toFixed(1)} s: ${result.dir}`].join('\n'),
    );
  } catch (err) {
    bar?.done();
    if (err instanceof AbortError) {
      o.error(err.message);
      context.state.exit = EXIT_INTERRUPTED;
      return;
    }
    throw err;
  }
}

/** Registers `specdyn demo` and `specdyn experiment`. */
export function registerExperiment(program: Command, context: CliContext): void {
  const demo = program
    .command('demo')
    .description(
      'the main job: train an MLP on MNIST under the spectral monitor and summarise what the spectra saw (--synthetic: the synthetic showcase)',
    )
    .option(
      '--synthetic',
      'the synthetic showcase instead: each reading on built-in data against its theory (about a second)',
    )
    .option('--quick', 'the smallest mode (a few seconds)')
    .option('-o, --out <dir>', 'run directory (default runs/demo-<timestamp>)');
  for (const p of demoExperiment.params) {
    const [flag, doc] = paramHelp(p);
    const opt = new Option(p.kind === 'bool' ? `--${flagName(p.key)}` : flag, doc);
    if (p.choices) opt.choices(p.choices);
    demo.addOption(opt);
  }
  demo
    .addHelpText(
      'after',
      examples([
        'specdyn demo',
        'specdyn demo --steps 300 --every 25 --layers 128,128 --out runs/demo-small',
        'specdyn demo --synthetic',
        'specdyn demo --quick --json > demo.json',
      ]),
    )
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const o = context.out(cmd);
      if (opts.synthetic) {
        const { syntheticShowcase } = await import('../experiments/showcase.js');
        const lines: string[] = [];
        await syntheticShowcase((l) => lines.push(l));
        o.result({ synthetic: true, lines }, () => lines.join('\n'));
        return;
      }
      const given: Record<string, unknown> = {};
      for (const p of demoExperiment.params) if (opts[p.key] !== undefined) given[p.key] = opts[p.key];
      const params = resolveParams(demoExperiment, given, opts.quick === true);
      await runExperiment(demoExperiment, params, (opts.out as string) ?? defaultRunDir('demo'), o, context);
    });

  program
    .command('experiment')
    .argument('[name]', 'experiment to run (none: list them)')
    .argument('[flags...]', "the experiment's flags (see specdyn experiment <name> --help)")
    .description("run one of specdyn's experiments (the papers' reproductions), writing a run and its report")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText(
      'after',
      examples([
        'specdyn experiment',
        'specdyn experiment teacher-student --quick',
        'specdyn experiment ring --out runs/ring',
        'specdyn experiment lr-sweep --help',
      ]),
    )
    .action(async (_name: string | undefined, _flags: string[], _opts: unknown, cmd: Command) => {
      const o = context.out(cmd);
      const args = cmd.args;
      const name = args[0] !== undefined && !args[0].startsWith('-') ? args[0] : undefined;
      if (name === undefined) {
        if (args.some((a) => a !== '--help' && a !== '-h'))
          throw new ParamError(expected('an experiment name before the flags', 'experiment', args[0]));
        const list = listExperiments();
        const w = Math.max(0, ...list.map((e) => e.name.length));
        o.result({ experiments: list }, () =>
          [
            'Usage: specdyn experiment <name> [flags]   (specdyn experiment <name> --help for its flags)',
            '',
            'Experiments:',
            ...list.map((e) => `  ${e.name.padEnd(w)}  ${e.description}`),
          ].join('\n'),
        );
        return;
      }
      const e = await getExperiment(name);
      const flags = parseExperimentFlags(e, args.slice(1));
      if (flags.help) {
        o.result({ name: e.name, description: e.description, params: e.params, quick: e.quick ?? {} }, () =>
          experimentHelp(e),
        );
        return;
      }
      const params = resolveParams(e, flags.given, flags.quick);
      await runExperiment(e, params, flags.out ?? defaultRunDir(e.name), o, context);
    });
}
