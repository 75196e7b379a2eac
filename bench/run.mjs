// npm run bench [suite ...] [--flag value ...]: runs bench/<suite>.bench.mjs (all of them by default). Each suite
// exports `async function run()` returning { title, rows, notes? }; rows hold median ratios
// against rivals measured in the same run.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { benchDir, printTable, pythonAvailable, writeResults } from './lib.mjs';

// Suite names; `--flag value` pairs are options the suites read (lib.mjs flag()).
const wanted = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.match(/^--[^=]+$/));
const suites = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .map((f) => f.replace('.bench.mjs', ''))
  .filter((s) => wanted.length === 0 || wanted.includes(s))
  .sort();
if (wanted.length && suites.length !== wanted.length) {
  console.error(
    `unknown suite in ${wanted.join(', ')}; available: ${readdirSync(benchDir)
      .filter((f) => f.endsWith('.bench.mjs'))
      .join(', ')}`,
  );
  process.exit(2);
}
const py = pythonAvailable();
console.log(
  `Python rivals (${process.env.SPECDYN_PYTHON ?? '/usr/bin/python3'}): numpy ${py.numpy ?? 'not importable'}, scipy ${py.scipy ?? 'not importable'}, scikit-learn ${py.sklearn ?? 'not importable'}`,
);
for (const s of suites) {
  const mod = await import(path.join(benchDir, `${s}.bench.mjs`));
  const t0 = Date.now();
  const res = await mod.run();
  printTable(res.title, res.rows);
  for (const n of res.notes ?? []) console.log(`- ${n}`);
  const file = writeResults(s, { ...res, seconds: (Date.now() - t0) / 1000, python: py });
  console.log(`results: ${path.relative(process.cwd(), file)}`);
}
