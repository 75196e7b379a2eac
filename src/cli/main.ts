#!/usr/bin/env node
/**
 * The `specdyn` command line. Exit codes: 0 ok, 1 failure, 2 usage error (bad flag, bad config),
 * 130 interrupted by Ctrl-C (the run is left readable and marked unfinished). Each failure is
 * one message on stderr; the stack only with --verbose.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { Output } from './output.js';
import { EXIT_INTERRUPTED, cliContext, examples, type CliState } from './context.js';
import { ParamError } from '../experiments/types.js';
import { TRAIN_OPTIONS, UsageError, describeDefault, flagName, resolveTrainConfig } from './train-config.js';
import { packageVersion } from './package-info.js';
import { registerExperiment } from './experiment.js';
import { missingPeerIn } from '../peers.js';
import { registerServe } from './serve.js';
import { registerSweep } from './sweep.js';

// The commands load the store, the report and the native core: imported when a command runs, so
// --help and usage errors answer at once.
const commands = () => import('./commands.js');

/** Builds the program. `run` receives the command's exit code through `setExit`. */
export function buildProgram(state: CliState): Command {
  const context = cliContext(state);
  const program = new Command('specdyn')
    .description(
      'Watch neural networks learn through random-matrix spectra: train with the monitor on, analyse runs, write reports.',
    )
    .version(packageVersion(), '-V, --version')
    .option('--json', 'print one JSON document on stdout (progress and messages go to stderr)')
    .option('-q, --quiet', 'print only errors')
    .option('--verbose', 'print the stack trace of a failure')
    .option('--no-color', 'no colour (also: NO_COLOR=1)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str.split('\n').filter((l) => l.trim())[0]! + '\n') })
    .addHelpText(
      'after',
      examples([
        'specdyn train config.json --steps 300',
        'specdyn runs runs/',
        'specdyn report runs/mnist-1',
        'specdyn report --watch runs/mnist-1',
        'specdyn doctor --json',
      ]) + '\nExit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted (Ctrl-C).\n',
    );
  const out = context.out;

  const trainCmd = program
    .command('train')
    .argument('<config.json>', "training configuration (JSON object); '-' for none (defaults and flags only)")
    .description(
      'train the built-in MLP (MNIST or synthetic) with the spectral monitor on, writing a run directory and its report',
    );
  for (const d of TRAIN_OPTIONS) {
    if (d.kind === 'bool') {
      trainCmd.addOption(new Option(`--no-${flagName(d.key)}`, `do not ${d.doc.replace(/ \(--no-.*\)$/, '')}`));
    } else {
      const opt = new Option(
        `--${flagName(d.key)} <${d.kind === 'ints' ? 'list' : d.kind === 'string' ? 'value' : 'n'}>`,
        describeDefault(d) ? `${d.doc} (default ${describeDefault(d)})` : d.doc,
      );
      if (d.choices) opt.choices(d.choices);
      trainCmd.addOption(opt);
    }
  }
  trainCmd
    .addHelpText(
      'after',
      examples([
        'specdyn train config.json',
        'specdyn train - --data synthetic --steps 200 --hidden-sizes 64,64 --out runs/synthetic-1',
        'specdyn train config.json --learning-rate 0.1 --snapshot-every 25 --json > result.json',
      ]) +
        '\nEvery key of the config file is also a flag (flags win). Ctrl-C stops after the current step and leaves an unfinished, readable run.\n',
    )
    .action(async (configPath: string, _opts: unknown, cmd: Command) => {
      const o = out(cmd);
      let file: unknown = {};
      if (configPath !== '-') {
        let text: string;
        try {
          text = readFileSync(configPath, 'utf8');
        } catch (err) {
          throw new UsageError(
            `Cannot read the config file ${configPath}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
          );
        }
        try {
          file = JSON.parse(text);
        } catch (err) {
          throw new UsageError(`Expected JSON in ${configPath} but it does not parse: ${(err as Error).message}`);
        }
      }
      const flags = cmd.opts() as Record<string, unknown>;
      const cfg = resolveTrainConfig(file, configPath === '-' ? 'the defaults' : configPath, flags);
      const { train } = await import('./train.js');
      const r = await train(cfg, o, state.abort.signal);
      o.result(r, () => {
        const lines = [
          `run: ${r.run} (${r.status}, ${r.stepsDone} steps, ${r.snapshots} snapshots, backend ${r.backend})`,
        ];
        if (Number.isFinite(r.final.loss))
          lines.push(`final loss ${r.final.loss!.toFixed(4)}, accuracy ${r.final.accuracy?.toFixed(4)}`);
        if (r.report) lines.push(`report: ${r.report}`);
        return lines.join('\n');
      });
      if (r.status === 'interrupted') state.exit = EXIT_INTERRUPTED;
    });

  program
    .command('analyze')
    .argument(
      '<path>',
      'a run directory, a .safetensors checkpoint or a directory of them, or a directory of step-<n>.npy/.npz snapshots',
    )
    .option(
      '-o, --out <dir>',
      'imports: the new run directory (default runs/<name>); a run: where its report goes (default: the run directory)',
    )
    .addOption(
      new Option('--metric <value>', 'OMD distance for .npy/.npz snapshots (default angular)').choices([
        'angular',
        'euclidean',
        'cosine',
        'sqeuclidean',
      ]),
    )
    .option('--kernel', 'checkpoints store kernels as [in, out] (Keras/Flax); default PyTorch [out, in]')
    .description(
      'turn checkpoints or representation snapshots into a run (figures into the run store), or re-read a run, and write the report',
    )
    .addHelpText(
      'after',
      examples([
        'specdyn analyze checkpoints/ --out runs/resnet',
        'specdyn analyze reps/ --metric euclidean --out runs/reps',
        'specdyn analyze runs/mnist-1 --out report-copy --json',
      ]) +
        '\nCheckpoints: one .safetensors file per step (the step is the last number in the file name). Snapshots: step-<n>.npy (one N x D array) or step-<n>.npz (one array per layer).\n',
    )
    .action(async (path: string, opts: { out?: string; metric?: string; kernel?: boolean }, cmd: Command) =>
      (await commands()).analyzeCommand(path, opts, out(cmd)),
    );

  program
    .command('report')
    .argument('<run...>', 'one run directory (all figures) or several (headline curves overlaid)')
    .option('-o, --out <dir>', 'output directory (default: the run directory; ./specdyn-report for several runs)')
    .option('-w, --watch', 'rebuild while the run is being written; the page refreshes itself')
    .option('--interval <seconds>', 'how often --watch looks for new snapshots (default 2)')
    .description('write report.html (self-contained) and one SVG per figure')
    .addHelpText(
      'after',
      examples([
        'specdyn report runs/mnist-1',
        'specdyn report --watch runs/mnist-1',
        'specdyn report runs/lr-0.01 runs/lr-0.1 --out sweep-report',
      ]),
    )
    .action(async (dirs: string[], opts: { out?: string; watch?: boolean; interval?: string }, cmd: Command) =>
      (await commands()).reportCommand(dirs, opts, out(cmd), state.abort.signal),
    );

  program
    .command('runs')
    .argument('[root]', 'directory holding runs (default ./runs)', 'runs')
    .description('list runs with status, snapshots, backend and headline figures')
    .addHelpText('after', examples(['specdyn runs', 'specdyn runs experiments/ --json']))
    .action(async (root: string, _opts: unknown, cmd: Command) => (await commands()).runsCommand(root, out(cmd)));

  program
    .command('doctor')
    .description(
      'the tfjs backend chosen and why, the native build, BLAS and threads, versions, and what to install for more speed',
    )
    .addHelpText('after', examples(['specdyn doctor', 'specdyn doctor --json']))
    .action(async (_opts: unknown, cmd: Command) => (await commands()).doctorCommand(out(cmd)));

  program
    .command('bench')
    .argument(
      '[suite...]',
      "suites of bench/ (linalg, omd, iterative, train, phase-diagram) or 'report'; default all of bench/",
    )
    .option('--snapshots <n>', "snapshots of the run the 'report' suite builds (default 200)")
    .description('run the benchmark suites')
    .addHelpText(
      'after',
      examples(['specdyn bench report', 'specdyn bench linalg omd', 'specdyn bench report --snapshots 500 --json']),
    )
    .action(async (suites: string[], opts: { snapshots?: string }, cmd: Command) => {
      state.exit = await (await commands()).benchCommand(suites, opts, out(cmd));
    });
  registerExperiment(program, context);
  registerServe(program, context);
  registerSweep(program, context);
  return program;
}

/** Runs the CLI on argv and returns the exit code (nothing here calls process.exit). */
export async function main(argv: string[]): Promise<number> {
  const state: CliState = { exit: 0, abort: new AbortController() };
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT_INTERRUPTED); // a second Ctrl-C: leave now
    process.stderr.write(
      '\ninterrupted: finishing the current step and closing the run (Ctrl-C again to quit at once)\n',
    );
    state.abort.abort();
  };
  process.on('SIGINT', onSigint);
  const program = buildProgram(state);
  try {
    await program.parseAsync(argv);
    return state.exit;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; every parse error was printed as one line by commander.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help'
        ? 0
        : 2;
    }
    const o = state.output ?? new Output({});
    const verbose = argv.includes('--verbose');
    // A missing optional peer is reported as its own one message, whatever context wrapped it.
    const peer = missingPeerIn(err);
    o.error(peer ? peer.message : err instanceof Error ? err.message : String(err));
    if (verbose && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return err instanceof UsageError || err instanceof ParamError ? 2 : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

const code = await main(process.argv);
process.exitCode = code;
// tfjs backends may keep handles open: leave once pending output has drained.
setTimeout(() => process.exit(code), 200).unref();
