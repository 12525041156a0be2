// TensorFlow.js backend choice: native binding (tfjs-node-gpu / tfjs-node) if installed, else WASM (SIMD), else CPU.
// TUNELOOP_BACKEND forces one; the choice is logged once. describeBackends() reports it for `tuneloop doctor`.
import * as tf from '@tensorflow/tfjs-core';
import { createRequire, register } from 'node:module';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  name: BackendName; // the backend now active in tfjs-core
  reason: string; // why it was chosen
  detail: string; // e.g. 'wasm simd, 1 thread' or the native package name
}

export interface InitBackendOptions {
  backend?: BackendName; // force one (wins over TUNELOOP_BACKEND)
  log?: (line: string) => void; // default: one line on stderr
  quiet?: boolean; // no log line
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

let active: Promise<BackendInfo> | null = null;

/** Parses TUNELOOP_BACKEND; undefined when unset or empty. */
export function backendFromEnv(env: Record<string, string | undefined> = process.env): BackendName | undefined {
  const v = env.TUNELOOP_BACKEND?.trim();
  if (!v) return undefined;
  if (!(BACKEND_NAMES as readonly string[]).includes(v)) {
    throw new Error(`TUNELOOP_BACKEND: must be one of ${BACKEND_NAMES.join(', ')}, got '${v}'`);
  }
  return v as BackendName;
}

const requireHere = createRequire(import.meta.url);

function resolvable(pkg: string): boolean {
  try {
    requireHere.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** The first native tfjs package that resolves, or null. */
function nativePackage(): string | null {
  for (const p of NATIVE_PACKAGES) if (resolvable(p)) return p;
  return null;
}

/** What initBackend would choose, without registering anything. */
export async function describeBackends(): Promise<{ selected: BackendName; available: BackendName[]; reason: string }> {
  const available: BackendName[] = [];
  const native = nativePackage();
  if (native) available.push('tensorflow');
  if (resolvable('@tensorflow/tfjs-backend-wasm') && typeof WebAssembly === 'object') available.push('wasm');
  if (resolvable('@tensorflow/tfjs-backend-cpu')) available.push('cpu');
  const forced = backendFromEnv();
  if (forced) {
    if (!available.includes(forced)) {
      return { selected: forced, available, reason: `TUNELOOP_BACKEND=${forced}, but it is not installed` };
    }
    return { selected: forced, available, reason: `forced by TUNELOOP_BACKEND=${forced}` };
  }
  const selected = available[0] ?? 'cpu';
  const reason =
    selected === 'tensorflow'
      ? `${native} is installed`
      : selected === 'wasm'
        ? 'no native binding (@tensorflow/tfjs-node[-gpu]) installed; WASM SIMD is the fastest available'
        : 'neither a native binding nor the WASM backend is available';
  return { selected, available, reason };
}

async function registerNative(): Promise<string> {
  const pkg = nativePackage();
  if (!pkg) throw new Error('backend tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed');
  await import(/* @vite-ignore */ pkg); // registers backend 'tensorflow' with the tfjs-core it finds
  if (!tf.findBackendFactory('tensorflow')) {
    throw new Error(`backend tensorflow: ${pkg} loaded but registered no 'tensorflow' backend with this tfjs-core`);
  }
  return pkg;
}

async function registerWasm(): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // In Node the .wasm binaries are located by path: point tfjs at the package's dist folder.
  const paths: Record<string, string> = {};
  for (const f of WASM_FILES) paths[f] = requireHere.resolve(`@tensorflow/tfjs-backend-wasm/dist/${f}`);
  wasm.setWasmPaths(paths as never);
  // Node has no cross-origin-isolated workers for the threaded build: use the single-threaded SIMD build.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  return 'wasm (XNNPACK), single thread';
}

async function registerCpu(): Promise<string> {
  await import('@tensorflow/tfjs-backend-cpu');
  return 'cpu (JavaScript kernels)';
}

let gradientsLoaded: Promise<void> | null = null;

/**
 * tfjs-core's Node bundle registers no gradients; they live in its ESM build, whose extensionless imports
 * Node cannot resolve without help (bundlers and vitest can). Installs a small resolve hook, then loads them.
 */
export function registerGradients(): Promise<void> {
  gradientsLoaded ??= (async () => {
    if (tf.getGradient('RealDiv')) return;
    if (typeof register === 'function') register(new URL('./tfjs-esm-hook.mjs', import.meta.url));
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  })();
  return gradientsLoaded;
}

async function activate(name: BackendName): Promise<string> {
  await registerGradients();
  const detail = name === 'tensorflow' ? await registerNative() : name === 'wasm' ? await registerWasm() : await registerCpu();
  const ok = await tf.setBackend(name);
  if (name === 'cpu') {
    // Silence the cpu backend's one-time "install tfjs-node" banner: the choice is already logged here.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  }
  if (!ok) throw new Error(`backend ${name}: tfjs could not initialise it`);
  await tf.ready();
  if (name === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return `${detail}, simd ${simd ? 'on' : 'off'}`;
  }
  return detail;
}

/**
 * Chooses and activates the backend (idempotent: later calls return the first result unless a
 * different backend is forced, which switches). Order: tensorflow > wasm > cpu; a failing choice
 * falls through to the next unless it was forced.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const forced = opts.backend ?? backendFromEnv();
  if (active) {
    const cur = await active;
    if (!forced || forced === cur.name) return cur;
  }
  const log = opts.quiet ? () => {} : (opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)));
  active = (async () => {
    if (forced) {
      const detail = await activate(forced);
      const info: BackendInfo = {
        name: forced,
        reason: opts.backend ? 'requested by the caller' : `forced by TUNELOOP_BACKEND=${forced}`,
        detail,
      };
      log(`tuneloop: tfjs backend ${info.name} (${info.detail}; ${info.reason})`);
      return info;
    }
    const d = await describeBackends();
    const failures: string[] = [];
    for (const name of d.available) {
      try {
        const detail = await activate(name);
        const reason = failures.length ? `${d.reason}; ${failures.join('; ')}` : d.reason;
        const info: BackendInfo = { name, reason, detail };
        log(`tuneloop: tfjs backend ${info.name} (${info.detail}; ${info.reason})`);
        return info;
      } catch (err) {
        failures.push(`${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    throw new Error(`no tfjs backend could start: ${failures.join('; ') || 'none installed'}`);
  })();
  try {
    return await active;
  } catch (err) {
    active = null;
    throw err;
  }
}
