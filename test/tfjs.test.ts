// loadTf when the native addon cannot be loaded (simulated by replacing the loader): 'auto' falls
// back to wasm and says so once on stderr with the reason; require: 'specdyn-native' makes that
// an error. And the peer check of specdyn/tfjs names what to install.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SpecdynError } from '../src/errors.js';

const LOAD_ERROR =
  'specdyn: no compiled addon exists for this platform, architecture and Node ABI. Fix: npm rebuild specdyn.';

vi.mock('../src/native.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/native.js')>();
  return {
    ...actual,
    native: () => {
      throw new SpecdynError(`${LOAD_ERROR}\nOriginal error: No native build was found for platform=linux`);
    },
  };
});

const { loadTf } = await import('../src/tfjs/index.js');
const { requireTfjsPeers, TFJS_INSTALL } = await import('../src/tfjs/peers.js');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('loadTf without the native addon', () => {
  it('falls back to wasm and says so once on stderr, with the reason', async () => {
    delete process.env['SPECDYN_TF_BACKEND'];
    const writes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    const first = await loadTf();
    expect(first.backend).toBe('wasm');
    expect(first.tf.getBackend()).toBe('wasm');
    expect(first.attempts.map((a) => [a.backend, a.ok])).toEqual([
      ['tfjs-node', false],
      ['specdyn-native', false],
      ['wasm', true],
    ]);
    expect(first.attempts[1]!.reason).toBe(LOAD_ERROR);
    const second = await loadTf();
    expect(second.backend).toBe('wasm');
    const ours = writes.filter((w) => w.includes('specdyn:'));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toBe(
      `specdyn: loadTf() fell back to the 'wasm' TensorFlow.js backend (slower) because 'specdyn-native' is unavailable: ${LOAD_ERROR}\n` +
        "  (pass { require: 'specdyn-native' } to loadTf to make this an error)\n",
    );
  });

  it("require: 'specdyn-native' turns the fallback into an error naming the reason", async () => {
    delete process.env['SPECDYN_TF_BACKEND'];
    const err = await loadTf({ require: 'specdyn-native' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SpecdynError);
    expect((err as Error).message).toBe(
      "specdyn: no TensorFlow.js backend at least as fast as 'specdyn-native' (loadTf option 'require') could be loaded:\n" +
        '  tfjs-node: @tensorflow/tfjs-node is not installed (it is an optional peer dependency; its install script downloads libtensorflow, which fails offline, with --ignore-scripts, or on platforms without prebuilt binaries)\n' +
        `  specdyn-native: ${LOAD_ERROR}`,
    );
    await expect(loadTf({ backend: 'specdyn-native' })).rejects.toThrow(
      /forced TensorFlow.js backend 'specdyn-native' could not be loaded:\n {2}specdyn-native: specdyn: no compiled addon/,
    );
  });
});

describe('the TensorFlow.js peer check', () => {
  it('passes when the packages resolve and names the missing ones and the install command otherwise', () => {
    expect(() => requireTfjsPeers()).not.toThrow();
    expect(() => requireTfjsPeers(['@tensorflow/tfjs', '@tensorflow/tfjs-not-a-package'])).toThrow(
      new SpecdynError(
        'specdyn/tfjs needs TensorFlow.js, an optional peer dependency of specdyn that is not installed ' +
          `(missing: @tensorflow/tfjs-not-a-package). Install it in your app: ${TFJS_INSTALL}`,
      ),
    );
  });
});
