/**
 * From a sweep file to an expanded sweep: read, parse, resolve the experiment (the registry, or
 * a resolver module that serves experiments of one's own), expand and check every cell. All of
 * it happens before any cell runs.
 */
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Experiment } from '../experiments/types.js';
import { expandSweep, parseSweepSpec, SweepSpecError, type ExpandedSweep } from './spec.js';

/** Resolves an experiment name (the registry's `getExperiment`, or a resolver module's). */
export type ExperimentResolver = (name: string) => Promise<Experiment>;

const resolvers = new Map<string, ExperimentResolver>();

/**
 * The resolver of a module (a path or file URL exporting `getExperiment(name)`), loaded once;
 * without a module, the registry of shipped experiments.
 * @throws TypeError when the module does not export getExperiment.
 */
export async function loadResolver(module?: string): Promise<ExperimentResolver> {
  const key = module ?? '';
  let r = resolvers.get(key);
  if (!r) {
    const mod = (
      module
        ? await import(module.startsWith('file:') ? module : pathToFileURL(module).href)
        : await import('../experiments/registry.js')
    ) as { getExperiment?: ExperimentResolver };
    if (typeof mod.getExperiment !== 'function')
      throw new TypeError(
        `Expected a module exporting getExperiment(name) for the experiment resolver but received '${module}'`,
      );
    r = mod.getExperiment;
    resolvers.set(key, r);
  }
  return r;
}

/**
 * Reads a sweep file (JSON).
 * @throws SweepSpecError naming the file when it cannot be read or does not parse.
 */
export function readSweepFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SweepSpecError(
      `Cannot read the sweep file ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SweepSpecError(`Expected JSON in ${file} but it does not parse: ${(err as Error).message}`);
  }
}

/**
 * Parses, resolves and expands a sweep description (see spec.ts for the format).
 * @throws SweepSpecError (a ParamError) for a bad description or an unknown experiment.
 */
export async function prepareSweep(
  raw: unknown,
  options: { resolver?: string; source?: string } = {},
): Promise<ExpandedSweep> {
  const spec = parseSweepSpec(raw, options.source);
  const resolve = await loadResolver(options.resolver);
  let experiment: Experiment;
  try {
    experiment = await resolve(spec.experiment);
  } catch (err) {
    throw new SweepSpecError((err as Error).message, { cause: err });
  }
  return expandSweep(spec, experiment);
}
