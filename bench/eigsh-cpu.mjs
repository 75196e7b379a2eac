// CPU per eigsh solve (all threads of the process, process.cpuUsage) and wall times, on the
// separated spectrum of bench/iterative.bench.mjs (X Xᵀ, X N x 200, column j scaled by
// 1 + 10·0.93^j), called as that bench calls it (eigshSync, a fresh gramOperator, vectors).
// CPU per solve is the figure that holds on a shared machine; wall minima are printed beside it.
//
//   npx tsc -p tsconfig.json && node bench/eigsh-cpu.mjs [--size 3000] [--k 1,10] [--repeat 40]
import { eigshSync, gramOperator } from '../dist/index.js';
import { flag, gaussian } from './lib.mjs';

const n = Number(flag('size', '3000'));
const ks = flag('k', '1,10').split(',').map(Number);
const reps = Number(flag('repeat', '40'));
const x = gaussian(n, 200, 11);
for (let i = 0; i < n; i++) for (let j = 0; j < 200; j++) x.data[i * 200 + j] *= 1 + 10 * 0.93 ** j;
const solve = (k) => eigshSync(gramOperator(x), { k, which: 'largest', tol: 1e-10, vectors: true });
for (const k of ks) {
  let r = solve(k);
  for (let i = 0; i < 4; i++) r = solve(k); // warm-up: the pool's blocks are mapped
  const walls = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    r = solve(k);
    walls.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const cu = process.cpuUsage(c0);
  walls.sort((a, b) => a - b);
  console.log(
    `N=${n} k=${k} products=${r.matvecs} restarts=${r.restarts} cpu/solve=${((cu.user + cu.system) / 1000 / reps).toFixed(2)} ms ` +
      `wall median=${walls[walls.length >> 1].toFixed(2)} min=${walls[0].toFixed(2)} ms`,
  );
}
