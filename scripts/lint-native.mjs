#!/usr/bin/env node
// Checks (default) or rewrites (--fix) the C++ of native/ with clang-format and the project's
// .clang-format. Node builtins only. Exits 1 when a file is not formatted, 2 when clang-format
// is missing (Debian/Ubuntu: apt-get install -y clang-format).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fix = process.argv.includes('--fix');

function walk(dir) {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return walk(rel);
    return /\.(cc|h|inl)$/.test(e.name) ? [rel] : [];
  });
}

const files = walk('native').sort();
const probe = spawnSync('clang-format', ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  console.error('[lint:native] clang-format not found. Debian/Ubuntu: apt-get install -y clang-format');
  process.exit(2);
}
const argv = fix ? ['-i', ...files] : ['--dry-run', '--Werror', ...files];
const r = spawnSync('clang-format', argv, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`[lint:native] ${fix ? 'clang-format failed' : 'C++ not formatted: run npm run format'}`);
  process.exit(1);
}
console.log(`[lint:native] ${files.length} files ${fix ? 'formatted' : 'clean'} (${probe.stdout.trim()})`);
