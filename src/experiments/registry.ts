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
    name: 'demo',
    description: 'the main job: an MLP on MNIST under the spectral monitor (also: specdyn demo)',
    load: async () => (await import('./demo.js')).demoExperiment,
  },
  {
    name: 'teacher-student',
    description: 'the teacher–student phase diagram, closed forms, finite-size ε_c, time dependence, ReLU/tanh',
    load: async () => (await import('./teacher-student.js')).teacherStudentExperiment,
  },
  {
    name: 'mnist-cell',
    description: 'one MNIST training run at one (learning rate, 1/σ_W, seed): a cell of lr-sweep',
    load: async () => (await import('./mnist-cell.js')).mnistCellExperiment,
  },
  {
    name: 'lr-sweep',
    description: 'the MNIST trainability map over learning rate and 1/σ_W, with inter-seed subspace overlaps',
    load: async () => (await import('./lr-sweep.js')).lrSweepExperiment,
  },
  {
    name: 'ring',
    description: 'frustrated Brownian particles on S² collapsing onto a ring: a training-free OMD calibration run',
    load: async () => (await import('./ring.js')).ringExperiment,
  },
  {
    name: 'teacher-student-cell',
    description: 'one (1/σ_W, ε) point of the linear teacher–student phase diagram (simulation vs closed forms)',
    load: async () => (await import('./teacher-student-cell.js')).teacherStudentCellExperiment,
  },
  {
    name: 'grokking',
    description: 'modular addition with AdamW: the grokking jump against the OMD alarm over seeds, with controls',
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
