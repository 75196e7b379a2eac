// Steady cost of distanceMatrixSync in a loop: nine back-to-back calls on one 2000 x 784 input,
// with a fresh result each time (the results stay reachable until a collection, and their
// finalizers run only once the event loop turns, so every call of a synchronous loop takes a
// fresh block whose pages the kernel must fault in and zero) and with the previous result
// passed back as `out` (no allocation). Prints per-call milliseconds and minor page faults.
//
//   node bench/distance-loop.mjs [--size 2000] [--dims 784] [--calls 9] [--rounds 3] [--precision float64]
import os from 'node:os';
import * as sd from '../dist/index.js';
import { gaussian } from './lib.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const n = Number(arg('size', '2000'));
const d = Number(arg('dims', '784'));
const calls = Number(arg('calls', '9'));
const rounds = Number(arg('rounds', '3'));
const precision = /** @type {import('../dist/index.js').Precision} */ (arg('precision', 'float64'));
const x = { data: Float32Array.from(gaussian(n, d, 5).data), rows: n, cols: d };
const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

async function loop(name, step) {
  const ms = [],
    faults = [];
  let prev;
  for (let i = 0; i < calls; i++) {
    const f0 = process.resourceUsage().minorPageFault;
    const t0 = performance.now();
    prev = await step(prev);
    ms.push(performance.now() - t0);
    faults.push(process.resourceUsage().minorPageFault - f0);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  console.log(
    `${name.padEnd(34)} ms ${ms.map((v) => v.toFixed(0)).join(' ')}  | median ${sorted[calls >> 1].toFixed(1)} | faults ${faults.join(' ')}`,
  );
}

console.log(
  `# ${new Date().toISOString()} N=${n} D=${d} float32 input, precision ${precision}; load ${load()}; threads ${sd.getThreads()}`,
);
for (let r = 0; r < rounds; r++) {
  await loop('sync, fresh result each call', () => sd.distanceMatrixSync(x, { precision }));
  await loop('sync, previous result as out', (prev) => sd.distanceMatrixSync(x, { precision, out: prev?.data }));
  await loop('async, fresh result each call', () => sd.distanceMatrix(x, { precision }));
  await loop('async, previous result as out', (prev) => sd.distanceMatrix(x, { precision, out: prev?.data }));
  console.log(`# pool ${JSON.stringify(sd.nativeInfo().pool)}; load ${load()}`);
}
