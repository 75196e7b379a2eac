// distanceMatrixSync against the bare ?syrk it is built on, interleaved in one process.
//
//   node bench/distance-kernel.mjs [--size 500,2000,4000] [--dims 64,256,784] [--repeat 5]
//                                  [--metrics euclidean,sqeuclidean,cosine,angular] [--types f64,f32] [--threads 2]
//                                  [--blocks auto,0,256] [--fresh 0]
//
// f64: float64 input, default precision, against dsyrk of the same input; f32: float32 input with
// precision 'float32', against ssyrk. Each repeat times the bare ?syrk (native probe, warm pooled
// buffer) and then distanceMatrixSync into a reused `out` (and, separately, with a fresh result),
// so the ratio is measured under the same load. Prints medians, the ratio of medians distance /
// ?syrk and the ratio of minima (the least disturbed runs on a shared machine).
// --blocks: how the kernel computes its Gram matrix, each setting timed in turn within every
// repeat (interleaved): auto (the choice by size, the default), 0 (one ?syrk of the whole
// matrix, then the tiled pass), a panel height (the blocked Gram of distance.cc in whole row
// panels) or height x width (panels in chunks of that many columns, e.g. 256x1024). --fresh 0
// skips the fresh-result timing. cpu_ratio_out: median CPU time (all threads) of the distance
// call / of the ?syrk probe call (which includes the probe's own small overhead).
import os from 'node:os';
import * as sd from '../dist/index.js';
import { native } from '../dist/native.js';
import { gaussian, median } from './lib.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const sizes = arg('size', '500,2000,4000').split(',').map(Number);
const dims = arg('dims', '64,256,784').split(',').map(Number);
const repeat = Number(arg('repeat', '5'));
const metrics = arg('metrics', 'euclidean,sqeuclidean,cosine,angular').split(',');
const types = arg('types', 'f64,f32').split(',');
const blocks = arg('blocks', 'auto').split(',');
const fresh = arg('fresh', '1') !== '0';
if (arg('threads')) sd.setThreads(Number(arg('threads')));
// A setting: auto, 0, a panel height, or height x chunk width (256x1024).
// A fresh result goes back to the memory pool only once it is collected and its finalizer has
// run, on a later turn of the event loop: without a turn between calls a long synchronous run
// kept every fresh result (tens of GB at N = 4000).
const turn = () => new Promise((resolve) => setImmediate(resolve));
/** @param {string} b */
const setBlock = (b) => {
  const [block, width] = b === 'auto' ? [-1, 0] : b.split('x').map(Number);
  native()._setDistanceBlock(block ?? -1, width ?? 0);
};

// Wall seconds of f(); its CPU seconds (every thread of the process: user + system) are pushed
// onto cpu, a figure less disturbed by other processes than the wall time on a shared machine.
const secs = (f, cpu) => {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  f();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  cpu?.push((c.user + c.system) / 1e6);
  return wall;
};

console.log(
  `# ${new Date().toISOString()} load ${os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}; threads ${sd.getThreads()}`,
);
console.log(
  'type\tN\tD\tmetric\tblock\tsyrk_ms\tdist_out_ms\tdist_new_ms\tratio_out\tratio_new\tmin_ratio_out\tcpu_ratio_out',
);
for (const type of types)
  for (const n of sizes)
    for (const d of dims) {
      const g = gaussian(n, d, n + d);
      const x = type === 'f32' ? { data: Float32Array.from(g.data), rows: n, cols: d } : g;
      /** @type {import('../dist/index.js').DistanceOptions} */
      const opts = type === 'f32' ? { precision: 'float32' } : {};
      const out = new Float64Array(n * n);
      for (const metric of metrics) {
        /** @type {import('../dist/index.js').DistanceOptions} */
        const o = { ...opts, metric: /** @type {import('../dist/index.js').Metric} */ (metric) };
        native()._syrkSeconds(x);
        for (const b of blocks) {
          setBlock(b);
          sd.distanceMatrixSync(x, { ...o, out });
        }
        const ts = [],
          cs = [],
          to = blocks.map(() => []),
          co = blocks.map(() => []),
          tn = blocks.map(() => []);
        for (let r = 0; r < repeat; r++) {
          let probe = 0;
          secs(() => (probe = native()._syrkSeconds(x)), cs);
          ts.push(probe);
          for (const [k, b] of blocks.entries()) {
            setBlock(b);
            to[k].push(secs(() => sd.distanceMatrixSync(x, { ...o, out }), co[k]));
            if (fresh) {
              tn[k].push(secs(() => sd.distanceMatrixSync(x, o)));
              await turn();
            }
          }
        }
        const s = median(ts);
        blocks.forEach((blk, k) => {
          const a = median(to[k]),
            b = fresh ? median(tn[k]) : NaN;
          console.log(
            `${type}\t${n}\t${d}\t${metric}\t${blk}\t${(s * 1e3).toFixed(2)}\t${(a * 1e3).toFixed(2)}\t${(b * 1e3).toFixed(2)}\t${(a / s).toFixed(3)}\t${(b / s).toFixed(3)}\t${(Math.min(...to[k]) / Math.min(...ts)).toFixed(3)}\t${(median(co[k]) / median(cs)).toFixed(3)}`,
          );
        });
      }
    }
setBlock('auto');
console.log(
  `# peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB; load ${os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
