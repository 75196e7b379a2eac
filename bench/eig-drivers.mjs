// LAPACK symmetric eigensolver drivers on this build, and what specdyn's eigvalsh/eigh add over
// the bare call, interleaved in one process.
//
//   node bench/eig-drivers.mjs [--size 200,500,1000,2000] [--repeat 5] [--drivers syevd,syevr,syevd_2stage]
//                              [--threads 2]
//
// Per N: the bare LAPACKE call of each driver (native probe; the input copy is not timed),
// values only and with vectors (syevd_2stage: values only, LAPACK has no vector path for it), then
// eigvalshSync / eigvalsh (async, an ordinary ArrayBuffer: one safety copy) / eigvalsh on a
// SharedArrayBuffer (read in place: the difference is the safety copy) / eighSync / eigh.
// Medians of wall time and the ratio to the fastest bare driver; the load average is printed.
import * as sd from '../dist/index.js';
import { native } from '../dist/native.js';
import { flag, gaussian, loadText, median, now, since } from './lib.mjs';

const sizes = flag('size', '200,500,1000,2000').split(',').map(Number);
const repeat = Number(flag('repeat', '5'));
const drivers = /** @type {('syevd' | 'syevr' | 'syev' | 'syevd_2stage')[]} */ (
  flag('drivers', 'syevd,syevr,syevd_2stage').split(',')
);
if (flag('threads')) sd.setThreads(Number(flag('threads')));

function symmetric(n, seed) {
  const g = gaussian(n, n, seed).data;
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = 0.5 * (g[i * n + j] + g[j * n + i]);
  return { data, rows: n, cols: n };
}

console.log(`# ${new Date().toISOString()} load ${loadText()}; threads ${sd.getThreads()}`);
for (const n of sizes) {
  const a = symmetric(n, n);
  /** @type {Array<[string, () => Promise<number>]>} */
  const cases = [];
  for (const dr of drivers) {
    cases.push([`bare ${dr} values`, async () => native()._eigSeconds(a, dr, false)]);
    if (dr !== 'syevd_2stage') cases.push([`bare ${dr} vectors`, async () => native()._eigSeconds(a, dr, true)]);
  }
  const timed = (f) => async () => {
    const t0 = now();
    await f();
    return since(t0);
  };
  cases.push(['eigvalshSync', timed(() => sd.eigvalshSync(a))]);
  cases.push(['eigvalsh async', timed(() => sd.eigvalsh(a))]);
  // The same matrix in a SharedArrayBuffer: read in place, no safety copy.
  const shared = { data: new Float64Array(new SharedArrayBuffer(n * n * 8)), rows: n, cols: n };
  shared.data.set(a.data);
  cases.push(['eigvalsh async (SAB)', timed(() => sd.eigvalsh(shared))]);
  cases.push(['eighSync', timed(() => sd.eighSync(a))]);
  cases.push(['eigh async', timed(() => sd.eigh(a))]);
  const ts = cases.map(() => []);
  for (const [, f] of cases) await f();
  for (let r = 0; r < repeat; r++) for (let c = 0; c < cases.length; c++) ts[c].push(await cases[c][1]());
  const med = ts.map(median);
  const bestV = Math.min(...cases.map((c, i) => (/bare .* values/.test(c[0]) ? med[i] : Infinity)));
  const bestW = Math.min(...cases.map((c, i) => (/bare .* vectors/.test(c[0]) ? med[i] : Infinity)));
  for (let c = 0; c < cases.length; c++) {
    const vec = /vectors|eigh /.test(cases[c][0]) || cases[c][0].startsWith('eighSync');
    const ref = vec ? bestW : bestV;
    console.log(
      `N=${n}\t${cases[c][0].padEnd(22)}\t${(med[c] * 1e3).toFixed(2)} ms\t${(med[c] / ref).toFixed(3)}x best bare`,
    );
  }
  console.log(`# load ${loadText()}`);
}
