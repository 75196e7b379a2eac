/**
 * What every command module shares: the program's state (exit code, output, the Ctrl-C signal)
 * and the help-text helper. A command group lives in its own file and exports
 * `register<Group>(program, context)`; main.ts calls it.
 */
import type { Command } from 'commander';
import { Output, type GlobalFlags } from './output.js';

/** Exit code of an interrupted command (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** The running program's state: the exit code to return, the output of the running command, Ctrl-C. */
export interface CliState {
  exit: number;
  output?: Output;
  abort: AbortController;
}

/** What main.ts hands each `register<Group>(program, context)`. */
export interface CliContext {
  state: CliState;
  /** The Output of the running command (global flags applied); also remembered for error reporting. */
  out(cmd: Command): Output;
}

/** Builds a context on a state. */
export function cliContext(state: CliState): CliContext {
  return { state, out: (cmd) => (state.output = new Output(cmd.optsWithGlobals() as GlobalFlags)) };
}

/** The "Examples:" block of a command's help. */
export function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}
