// npm run bench [suite ...] [--size n[,n…]] [--repeat n] [--flag value ...]: runs
// bench/<suite>.bench.mjs (all of them by default). Each suite exports `async function run()`
// returning { title, rows, notes? }; rows hold median ratios against rivals measured in the same
// run. --size and --repeat reach the suites that take them through SPECDYN_BENCH_SIZE /
// SPECDYN_BENCH_REPEAT (bench/lib.mjs benchSizes, benchRepeat); other flags are a suite's own
// (lib.mjs flag()).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { benchDir, printTable, pythonRivals, writeResults } from './lib.mjs';

const args = process.argv.slice(2);
const wanted = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const named = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(a);
  if (!named) {
    if (a.startsWith('-')) {
      console.error(`Expected a suite name or --<flag> <value> but received '${a}'`);
      process.exit(2);
    }
    wanted.push(a);
    continue;
  }
  const value = named[2] ?? args[++i];
  if (value === undefined) {
    console.error(`Expected a value after --${named[1]}`);
    process.exit(2);
  }
  // --size and --repeat are common to the suites; any other flag is a suite's own (lib.mjs flag()).
  if (named[1] !== 'size' && named[1] !== 'repeat') continue;
  const ok = value.split(',').every((v) => /^[1-9]\d*$/.test(v)) && (named[1] === 'size' || !value.includes(','));
  if (!ok) {
    console.error(
      `Expected ${named[1] === 'size' ? 'positive integers separated by commas' : 'a positive integer'} for --${named[1]} but received '${value}'`,
    );
    process.exit(2);
  }
  process.env[named[1] === 'size' ? 'SPECDYN_BENCH_SIZE' : 'SPECDYN_BENCH_REPEAT'] = value;
}
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
const py = pythonRivals();
console.log(
  py.length
    ? `Python rivals: ${py.map((p) => `${p.label} (${p.exe}): numpy ${p.numpy}, scipy ${p.scipy}, scikit-learn ${p.sklearn ?? 'not importable'}`).join('; ')}`
    : 'Python rivals: none importable (install python3-numpy python3-scipy python3-sklearn)',
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
