// specdyn's synthetic showcase (the same as `specdyn demo --synthetic`): the two readings of
// learning, OMD and weight spectra, on built-in data, each against its theory, in about a second.
// The main job, `npm run demo`, trains a real network: see docs/experiments.md.
import { syntheticShowcase } from '../dist/experiments/showcase.js';

await syntheticShowcase((line) => console.log(line));
