/**
 * How the CLI talks: human lines on stderr (colour unless NO_COLOR or not a TTY), progress bars on
 * a TTY (cli-progress) and plain progress lines otherwise, `--json`: exactly one JSON document on
 * stdout (everything else goes to stderr), `--quiet`: only errors.
 */
import cliProgress from 'cli-progress';
import pc from 'picocolors';

/** Global flags every command understands. */
export interface GlobalFlags {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
}

/** A progress handle: `tick(n)` to set the count, `done()` to finish the line. */
export interface Progress {
  update(value: number, note?: string): void;
  done(): void;
}

/** NaN/±Infinity are not JSON: written as null in --json output (documented in docs/cli.md). */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return Array.from(value as unknown as ArrayLike<number>);
  return value;
}

/** The CLI's output channel for one command run. */
export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  private readonly tty: boolean;
  readonly colors: ReturnType<typeof pc.createColors>;

  constructor(flags: GlobalFlags, stderr: NodeJS.WriteStream = process.stderr) {
    this.json = !!flags.json;
    this.quiet = !!flags.quiet;
    this.verbose = !!flags.verbose;
    this.tty = !!stderr.isTTY;
    const colour = flags.color !== false && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '') && this.tty;
    this.colors = pc.createColors(colour);
  }

  /** An informational line on stderr (suppressed by --quiet). */
  info(line: string): void {
    if (!this.quiet) process.stderr.write(line + '\n');
  }

  /** A warning line on stderr (suppressed by --quiet, which keeps errors only). */
  warn(line: string): void {
    if (!this.quiet) process.stderr.write(this.colors.yellow('warning: ') + line + '\n');
  }

  /** The error line (always shown). */
  error(line: string): void {
    process.stderr.write(this.colors.red('error: ') + line + '\n');
  }

  /**
   * The command's result. With --json: one JSON document on stdout. Otherwise `human` lines on
   * stdout (a table or a summary), unless --quiet.
   */
  result(doc: unknown, human: () => string): void {
    if (this.json) {
      process.stdout.write(JSON.stringify(doc, jsonReplacer, 2) + '\n');
    } else if (!this.quiet) {
      const text = human();
      if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
    }
  }

  /**
   * A progress display for `total` units of `label`: a bar on a TTY, otherwise a plain line at
   * every tenth of the way (and at the end). Nothing with --quiet.
   */
  progress(label: string, total: number): Progress {
    if (this.quiet) return { update() {}, done() {} };
    if (this.tty) {
      const bar = new cliProgress.SingleBar(
        {
          format: `${label} [{bar}] {value}/{total} {note}`,
          hideCursor: true,
          clearOnComplete: false,
          stream: process.stderr,
          barsize: 30,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { note: '' });
      return { update: (v, note = '') => bar.update(v, { note }), done: () => bar.stop() };
    }
    let lastDecile = -1;
    return {
      update: (v, note) => {
        const decile = total > 0 ? Math.floor((10 * v) / total) : 10;
        if (decile > lastDecile) {
          lastDecile = decile;
          process.stderr.write(`${label}: ${v}/${total}${note ? ` ${note}` : ''}\n`);
        }
      },
      done: () => {},
    };
  }
}

/** Pads the columns of a table of strings (first row = header). */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
