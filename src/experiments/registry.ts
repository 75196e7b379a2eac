/**
 * The experiments specdyn ships, by name. Each module is loaded only when its experiment runs
 * (TensorFlow.js and the report's peers are heavy), so listing them costs nothing.
 */
import { ParamError, type Experiment } from './types.js';
import { expected } from '../errors.js';

interface Entry {
  name: string;
  description: string;
  load: () => Promise<Experiment>;
}

// One line per experiment: name, one-line description, loader of its module.
const ENTRIES: readonly Entry[] = [
  {
    name: 'grokking',
    description: 'Modular addition with AdamW: the grokking jump against the OMD alarm over seeds, with controls',
    load: async () => (await import('./grokking.js')).grokkingExperiment,
  },
];

/** Names and descriptions of the shipped experiments, in listing order. */
export function listExperiments(): { name: string; description: string }[] {
  return ENTRIES.map(({ name, description }) => ({ name, description }));
}

/** Loads an experiment by name. @throws ParamError naming the unknown experiment and the known ones. */
export async function getExperiment(name: string): Promise<Experiment> {
  const entry = ENTRIES.find((e) => e.name === name);
  if (!entry) {
    throw new ParamError(
      expected(
        `one of the experiments ${ENTRIES.map((e) => `'${e.name}'`).join(', ') || '(none)'}`,
        'experiment',
        name,
      ),
    );
  }
  return entry.load();
}
