// The BLAS vendor the native core reports, checked against the libraries the process mapped,
// and its thread control checked against the count the BLAS library holds. Runs against
// whichever build loads: build/ (OpenBLAS, the default), a prebuild, or SPECDYN_ADDON (e.g. the
// MKL build of `npm run build:mkl`).
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { eigvalshSync, getThreads, nativeInfo, setThreads } from '../src/index.js';
import { native } from '../src/native.js';
import { randSym } from './helpers.js';

/** Shared libraries mapped into this process (Linux), or undefined elsewhere. */
function mappedLibraries(): string[] | undefined {
  if (!existsSync('/proc/self/maps')) return undefined;
  const paths = readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[5] ?? '')
    .filter((p) => p.includes('.so'));
  return [...new Set(paths)];
}

describe('BLAS vendor', () => {
  const initial = getThreads();
  afterEach(() => setThreads(initial));

  it('nativeInfo().blasVendor agrees with the BLAS description and the mapped libraries', () => {
    const info = nativeInfo();
    expect(['openblas', 'mkl', 'unknown']).toContain(info.blasVendor);
    if (info.blasVendor === 'openblas') expect(info.blas).toMatch(/^OpenBLAS /);
    if (info.blasVendor === 'mkl') expect(info.blas).toMatch(/Math Kernel Library/);
    if (info.blasVendor === 'unknown') expect(info.blas).toBe('unknown BLAS');
    // The prebuilt binaries link OpenBLAS statically.
    if (info.staticBlas) expect(info.blasVendor).toBe('openblas');
    const libs = mappedLibraries();
    if (libs && !info.staticBlas) {
      const mkl = libs.some((p) => /libmkl_core\.so/.test(p));
      const openblas = libs.some((p) => /libopenblas/.test(p));
      expect(info.blasVendor === 'mkl').toBe(mkl);
      expect(info.blasVendor === 'openblas').toBe(openblas && !mkl);
    }
  });

  it('the gate applies its thread counts to the vendor library', () => {
    const info = nativeInfo();
    if (info.blasVendor === 'unknown') {
      // No thread control: the library's count is reported as 1 whatever is configured.
      setThreads(2);
      expect(nativeInfo().blasThreads).toBe(1);
      return;
    }
    const many = Math.min(2, info.hardwareThreads);
    // Set while idle: applied at once.
    setThreads(1);
    expect(nativeInfo().blasThreads).toBe(1);
    setThreads(many);
    expect(nativeInfo().blasThreads).toBe(many);
    // A small operation runs single-threaded: the library then holds 1.
    eigvalshSync(randSym(12, 3));
    expect(nativeInfo().blasThreads).toBe(1);
    // A large one (a 500³ dgemm, 2.5e8 flops, above the gate's 1e8) gets the configured count.
    native()._dgemmSeconds(500);
    expect(nativeInfo().blasThreads).toBe(many);
  });
});
