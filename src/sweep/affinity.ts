/**
 * CPU pinning of cell processes (Linux). With two or more cell processes side by side, each
 * process's main thread hands native work to a libuv pool thread and waits for it; unpinned, the
 * scheduler often wakes that thread on the core another cell process is using, and part of a
 * core stays idle. Pinning cell process i (all its threads) to allowed CPU i keeps each hand-off
 * on one core. docs/scale-out.md has the figures.
 *
 * The allowed CPUs are read from `/proc/self/status` (`Cpus_allowed_list`), not `os.cpus()`, so
 * a `taskset` around the runner, a container's or a batch job's cgroup cpuset are respected.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Parses a kernel CPU list (`0-3,8,10-11`) into ascending, distinct CPU numbers.
 * @returns undefined when the text is not such a list.
 */
export function parseCpuList(text: string): number[] | undefined {
  const cpus = new Set<number>();
  const t = text.trim();
  if (t === '') return undefined;
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return undefined;
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/**
 * The CPUs this process (its main thread) may run on: `Cpus_allowed_list` of `/proc/self/status`
 * (it reflects `taskset`, `sched_setaffinity` and cgroup cpusets). The one place that reads it.
 * @param status the status file to read (default `/proc/self/status`; `/proc/<pid>/task/<tid>/status` for another thread).
 * @returns undefined off Linux or when the file or the field cannot be read.
 */
export function allowedCpus(status = '/proc/self/status'): number[] | undefined {
  if (process.platform !== 'linux') return undefined;
  let text: string;
  try {
    text = fs.readFileSync(status, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Cpus_allowed_list:\s*(.*)$/m.exec(text);
  return m ? parseCpuList(m[1]!) : undefined;
}

/** The `taskset` executable on PATH (util-linux), or undefined. */
export function findTaskset(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, 'taskset');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** How a pool pins its processes: `cpus[i]` for process i, through `taskset`; or why it does not. */
export type PinPlan = { cpus: number[]; taskset: string } | { cpus?: undefined; reason: string };

/** What {@link planPinning} decides from (the machine's side). */
export interface PinEnvironment {
  platform: NodeJS.Platform;
  /** The allowed CPUs ({@link allowedCpus}); undefined when unknown. */
  allowed: number[] | undefined;
  /** The taskset executable ({@link findTaskset}); undefined when there is none. */
  taskset: string | undefined;
}

/** The environment of this process: platform, allowed CPUs, taskset. */
export function pinEnvironment(): PinEnvironment {
  return {
    platform: process.platform,
    allowed: allowedCpus(),
    taskset: process.platform === 'linux' ? findTaskset() : undefined,
  };
}

/**
 * Whether a pool of `size` cell processes pins them, and to which CPUs. `pin` false never pins;
 * otherwise (undefined: automatic, or true) it pins on Linux with taskset when 2 ≤ size ≤ the
 * number of allowed CPUs, process i to the i-th allowed CPU. One process is left to the
 * scheduler (its pool thread may use another core); more processes than CPUs cannot each have
 * their own.
 */
export function planPinning(size: number, pin: boolean | undefined, env: PinEnvironment): PinPlan {
  if (pin === false) return { reason: 'pinning is turned off' };
  if (env.platform !== 'linux') return { reason: `CPU pinning is supported on Linux only, not on ${env.platform}` };
  if (size < 2) return { reason: 'one cell process is left to the scheduler' };
  if (!env.allowed) return { reason: 'the allowed CPUs could not be read from /proc/self/status' };
  if (size > env.allowed.length)
    return {
      reason: `${size} cell processes but only ${env.allowed.length} allowed CPU${env.allowed.length === 1 ? '' : 's'} (${env.allowed.join(',')})`,
    };
  if (!env.taskset) return { reason: 'no taskset executable on PATH (util-linux)' };
  return { cpus: env.allowed.slice(0, size), taskset: env.taskset };
}

/**
 * Pins every thread of process `pid` to `cpu` (`taskset -a -p -c cpu pid`). Threads the process
 * creates later inherit the affinity of their creator.
 * @returns undefined on success, else what went wrong.
 */
export function pinProcess(pid: number, cpu: number, taskset: string): string | undefined {
  const r = spawnSync(taskset, ['-a', '-p', '-c', String(cpu), String(pid)], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return `${taskset} could not run: ${r.error.message}`;
  if (r.status !== 0) return `${taskset} exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').trim()}`;
  return undefined;
}
