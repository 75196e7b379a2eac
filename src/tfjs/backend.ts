/**
 * Choosing the TensorFlow.js backend specdyn trains with.
 *
 * `loadTf()` tries, in order: tfjs-node (libtensorflow; an optional peer dependency whose install
 * script must download libtensorflow, so it is often absent), then 'specdyn-native' (the cpu
 * backend with its matrix products on OpenBLAS through the specdyn addon), then
 * tfjs-backend-wasm, then the pure-JavaScript cpu backend. It reports which one it chose and
 * why each earlier one was passed over. A user can force one with `{ backend }` or the
 * SPECDYN_TF_BACKEND environment variable; a forced backend that cannot load is an error, never
 * a silent fallback. When 'auto' cannot use 'specdyn-native' (the addon does not load) and settles
 * on a slower backend, it says so once per process on stderr, with the reason; the `require`
 * option turns that fallback into an error.
 *
 * Threads: tfjs kernels are synchronous, so the native products run on the JavaScript thread.
 * Each product is one OpenBLAS call through specdyn's BLAS gate; whether it uses more than one
 * thread (`setThreads()` / `getThreads()` from specdyn, capped by `setThreadLimit()`) is chosen
 * per product shape by `SpecdynNativeBackend.productThreads`. See docs/training.md for how this
 * shares the cores with analysis queued on the libuv pool.
 */
import { SpecdynError } from '../errors.js';
import { native } from '../native.js';
import { checkOneOf, checkOptionsObject } from '../validate.js';
import { NATIVE_BACKEND_NAME, registerNativeBackend } from './native-kernels.js';
import { isInstalled } from './peers.js';

/** The tfjs module namespace (tfjs-node's is a superset of it). */
export type Tf = typeof import('@tensorflow/tfjs');

/** The backends loadTf knows, in its order of preference. */
export const BACKEND_CHOICES = ['tfjs-node', 'specdyn-native', 'wasm', 'cpu'] as const;
/** One of {@link BACKEND_CHOICES}. */
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The tfjs backend name each choice registers. */
export const TF_BACKEND_NAMES: Readonly<Record<BackendChoice, string>> = {
  'tfjs-node': 'tensorflow',
  'specdyn-native': NATIVE_BACKEND_NAME,
  wasm: 'wasm',
  cpu: 'cpu',
};

/** Options of {@link loadTf}. */
export interface LoadTfOptions {
  /**
   * 'auto' (default) tries every backend in order; a name forces that backend (an error if it
   * cannot load). Defaults to the SPECDYN_TF_BACKEND environment variable, then 'auto'.
   */
  backend?: BackendChoice | 'auto';
  /**
   * The slowest backend acceptable, in BACKEND_CHOICES order: `require: 'specdyn-native'` lets
   * 'auto' choose tfjs-node or specdyn-native but makes a fallback to wasm or cpu an error (a
   * SpecdynError naming why each faster backend failed). Default: any backend ('cpu').
   */
  require?: BackendChoice;
}

/** One backend loadTf tried: whether it loaded and why (or why not). */
export interface BackendAttempt {
  backend: BackendChoice;
  ok: boolean;
  reason: string;
}

/** What {@link loadTf} resolves to: the tfjs namespace, the backend it chose, and why. */
export interface LoadedTf {
  /** The tfjs namespace, with `backend` active. */
  tf: Tf;
  /** The chosen backend. */
  backend: BackendChoice;
  /** Its name inside tfjs (`tf.getBackend()`). */
  tfBackendName: string;
  /** One line: what was chosen and why (for logs, run metadata and `doctor`). */
  reason: string;
  /** Every backend tried, in order, the last one being the chosen one. */
  attempts: BackendAttempt[];
}

const TFJS_NODE = '@tensorflow/tfjs-node';

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.trim();
}

function isNotInstalled(err: unknown, pkg: string): boolean {
  const e = err as { code?: string; message?: string } | null;
  return (
    (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') &&
    typeof e.message === 'string' &&
    e.message.includes(pkg)
  );
}

async function importTfjs(): Promise<Tf> {
  return (await import('@tensorflow/tfjs')) as Tf;
}

/** Loads one backend and makes it active; throws with the reason when it cannot. */
async function tryBackend(choice: BackendChoice): Promise<{ tf: Tf; detail: string }> {
  switch (choice) {
    case 'tfjs-node': {
      const notInstalled = `${TFJS_NODE} is not installed (it is an optional peer dependency; its install script downloads libtensorflow, which fails offline, with --ignore-scripts, or on platforms without prebuilt binaries)`;
      if (!isInstalled(TFJS_NODE)) throw new SpecdynError(notInstalled);
      let mod: Tf;
      try {
        // A variable specifier: tfjs-node is optional, so it must not be resolved at build time.
        const spec: string = TFJS_NODE;
        mod = (await import(spec)) as Tf;
      } catch (err) {
        if (isNotInstalled(err, TFJS_NODE)) throw new SpecdynError(notInstalled);
        throw new SpecdynError(`${TFJS_NODE} is installed but failed to load: ${firstLine(err)}`);
      }
      if (!(await mod.setBackend('tensorflow')))
        throw new SpecdynError(`${TFJS_NODE} loaded but its 'tensorflow' backend failed to initialise`);
      await mod.ready();
      return { tf: mod, detail: 'libtensorflow through @tensorflow/tfjs-node' };
    }
    case 'specdyn-native': {
      native(); // the addon first: its load error is the reason this backend is passed over
      const tf = await importTfjs();
      registerNativeBackend();
      if (!(await tf.setBackend(NATIVE_BACKEND_NAME)))
        throw new SpecdynError(`the '${NATIVE_BACKEND_NAME}' backend failed to initialise`);
      await tf.ready();
      const info = native().nativeInfo();
      return {
        tf,
        detail: `tfjs cpu kernels with OpenBLAS sgemm products and native element-wise kernels (${String(info['core'] ?? 'unknown core')}, ${String(info['threads'] ?? '?')} BLAS threads)`,
      };
    }
    case 'wasm': {
      const tf = await importTfjs();
      await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm')))
        throw new SpecdynError(
          "@tensorflow/tfjs-backend-wasm failed to initialise (see the console for tfjs's reason)",
        );
      await tf.ready();
      return { tf, detail: 'XNNPACK in WebAssembly through @tensorflow/tfjs-backend-wasm' };
    }
    case 'cpu': {
      const tf = await importTfjs();
      if (!(await tf.setBackend('cpu'))) throw new SpecdynError('the tfjs cpu backend failed to initialise');
      await tf.ready();
      return { tf, detail: 'pure JavaScript kernels of @tensorflow/tfjs-backend-cpu' };
    }
  }
}

const BACKEND_OPTIONS = ['auto', ...BACKEND_CHOICES] as const;

let fallbackReported = false;

/** Says once per process, on stderr, that 'auto' settled below specdyn-native, and why. */
function reportFallback(chosen: BackendChoice, nativeReason: string): void {
  if (fallbackReported) return;
  fallbackReported = true;
  process.stderr.write(
    `specdyn: loadTf() fell back to the '${chosen}' TensorFlow.js backend (slower) because 'specdyn-native' is unavailable: ${nativeReason}\n` +
      `  (pass { require: 'specdyn-native' } to loadTf to make this an error)\n`,
  );
}

/**
 * Imports TensorFlow.js and activates the fastest backend that loads here (or the forced one).
 * Safe to call repeatedly; each call re-selects (tfjs has one global active backend).
 *
 * @throws TypeError for a non-string backend name, RangeError for an unknown one or for a forced
 * backend slower than `require`; SpecdynError when a forced backend (or, in 'auto', every
 * backend at least as fast as `require`) fails, naming the reason.
 */
export async function loadTf(options: LoadTfOptions = {}): Promise<LoadedTf> {
  checkOptionsObject(options);
  let wanted: BackendChoice | 'auto';
  if (options.backend !== undefined) {
    wanted = checkOneOf(options.backend, "loadTf option 'backend'", BACKEND_OPTIONS);
  } else if (process.env['SPECDYN_TF_BACKEND']) {
    wanted = checkOneOf(
      process.env['SPECDYN_TF_BACKEND'],
      'the SPECDYN_TF_BACKEND environment variable',
      BACKEND_OPTIONS,
    );
  } else {
    wanted = 'auto';
  }
  const floor =
    options.require === undefined ? 'cpu' : checkOneOf(options.require, "loadTf option 'require'", BACKEND_CHOICES);
  const floorIndex = BACKEND_CHOICES.indexOf(floor);
  if (wanted !== 'auto' && BACKEND_CHOICES.indexOf(wanted) > floorIndex) {
    throw new RangeError(
      `Expected a backend at least as fast as '${floor}' (loadTf option 'require') for loadTf option 'backend' but received '${wanted}'`,
    );
  }
  const order: readonly BackendChoice[] = wanted === 'auto' ? BACKEND_CHOICES.slice(0, floorIndex + 1) : [wanted];
  const attempts: BackendAttempt[] = [];
  for (const choice of order) {
    try {
      const { tf, detail } = await tryBackend(choice);
      attempts.push({ backend: choice, ok: true, reason: detail });
      const skipped = attempts.filter((a) => !a.ok).map((a) => `${a.backend}: ${a.reason}`);
      const how = wanted === 'auto' ? 'auto' : 'forced';
      const reason = `${choice} (${how}): ${detail}` + (skipped.length ? `; passed over ${skipped.join('; ')}` : '');
      const nativeFailed = attempts.find((a) => a.backend === 'specdyn-native' && !a.ok);
      if (nativeFailed) reportFallback(choice, nativeFailed.reason);
      return { tf, backend: choice, tfBackendName: TF_BACKEND_NAMES[choice], reason, attempts };
    } catch (err) {
      attempts.push({ backend: choice, ok: false, reason: firstLine(err) });
    }
  }
  const lines = attempts.map((a) => `  ${a.backend}: ${a.reason}`).join('\n');
  throw new SpecdynError(
    wanted === 'auto'
      ? `specdyn: no TensorFlow.js backend${floor === 'cpu' ? '' : ` at least as fast as '${floor}' (loadTf option 'require')`} could be loaded:\n${lines}`
      : `specdyn: the forced TensorFlow.js backend '${wanted}' could not be loaded:\n${lines}`,
  );
}
