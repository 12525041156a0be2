// Quantization benchmark (not a test): per scheme bits/param from stored bytes, quantize/dequantize
// throughput, error on seeded gaussian weights, and the in-memory bytes/param of QuantizedLinear.
// Run: node --expose-gc --import tsx bench/quant.ts [--n 4194304] [--dim 4096]   (JSON on stdout)
import * as tf from '@tensorflow/tfjs-core';
import { causalLmLoss, tinyModel, TINY_LLAMA } from '@tuneloop/model';
import { bitsPerParameter, dequantize, quantizationError, quantize, quantizeLinear, quantizeModelLinears, type QuantScheme } from '@tuneloop/quant';
import { seededGaussian } from '../libs/quant/src/seeded-gaussian.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const gc = (globalThis as { gc?: () => void }).gc;
const n = arg('n', 1 << 22);
const dim = arg('dim', 4096);
const LAYERS = 4;

/** Best of `reps` timings of fn, in seconds. */
function time<T>(fn: () => T, reps = 3): { seconds: number; result: T } {
  let best = Infinity;
  let result!: T;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    result = fn();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return { seconds: best, result };
}

const configs: { scheme: QuantScheme; doubleQuant: boolean }[] = [
  { scheme: 'int8', doubleQuant: false },
  { scheme: 'int4', doubleQuant: false },
  { scheme: 'int2', doubleQuant: false },
  { scheme: 'nf4', doubleQuant: false },
  { scheme: 'nf4', doubleQuant: true },
  { scheme: 'fp4', doubleQuant: false },
  { scheme: 'fp4', doubleQuant: true },
];

/** The engine's backend choice when it loads; else tfjs' CPU backend (the codec timings do not depend on it). */
async function chooseBackend(): Promise<string> {
  try {
    const { initBackend } = await import('@tuneloop/engine');
    const info = await initBackend({ quiet: true });
    return `${info.name} (${info.detail})`;
  } catch (e) {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    return `cpu (engine not loadable: ${e instanceof Error ? e.message.split('\n')[0].slice(0, 120) : String(e)})`;
  }
}

function buildLayer(d: number) {
  return quantizeLinear('bench.q_proj', seededGaussian(d * d, 7, 0.02), { scheme: 'nf4', doubleQuant: true, shape: [d, d] });
}

/** Full GC twice with a macrotask between, so freed ArrayBuffer backing stores are accounted. */
async function settle(): Promise<void> {
  for (let i = 0; i < 2; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  const backend = await chooseBackend();

  // QuantizedLinear [dim, dim], nf4 + double quant: bytes held, counted and measured (ArrayBuffers).
  await settle();
  const before = process.memoryUsage().arrayBuffers;
  const layers = Array.from({ length: LAYERS }, () => buildLayer(dim)); // fp32 sources are garbage on return
  await settle();
  const measured = gc ? (process.memoryUsage().arrayBuffers - before) / (LAYERS * dim * dim) : null;
  const layer = layers[0];
  const w0 = layer.weight;
  const buffers = new Set<ArrayBufferLike>([w0.codes.buffer, w0.doubleQuant!.codes.buffer, w0.doubleQuant!.absmax.buffer]);
  const retained = [...buffers].reduce((a, b) => a + b.byteLength, 0) + 4; // + the float32 offset
  const x = tf.tensor2d(seededGaussian(8 * dim, 9), [8, dim]);
  const fwd = time(() => tf.tidy(() => layer.forward(x).dataSync()), 2);
  x.dispose();
  const linear = {
    shape: [dim, dim],
    scheme: 'nf4',
    doubleQuant: true,
    bytesPerParamCounted: Number(layer.bytesPerParameter().toFixed(5)),
    bytesPerParamRetainedBuffers: Number((retained / (dim * dim)).toFixed(5)),
    bytesPerParamMeasuredArrayBuffers: measured === null ? null : Number(measured.toFixed(5)),
    measuredOverLayers: LAYERS,
    fp32BytesPerParam: 4,
    forwardMsBatch8: Number((fwd.seconds * 1000).toFixed(1)),
    tileRows: layer.tileRows,
  };

  // Codecs on seeded gaussian weights (std 0.02, like a transformer's init), blocks of 64.
  const w = seededGaussian(n, 2024, 0.02);
  const warm = w.subarray(0, 1 << 16);
  for (const c of configs) dequantize(quantize(warm, { ...c, blockSize: 64 })); // JIT warm-up
  const mb = w.byteLength / 2 ** 20;
  const schemes = configs.map(({ scheme, doubleQuant }) => {
    const q = time(() => quantize(w, { scheme, blockSize: 64, doubleQuant }));
    const d = time(() => dequantize(q.result));
    const err = quantizationError(w, q.result);
    return {
      scheme,
      doubleQuant,
      blockSize: 64,
      bitsPerParam: Number(bitsPerParameter(q.result).toFixed(4)),
      quantizeMBps: Number((mb / q.seconds).toFixed(1)),
      dequantizeMBps: Number((mb / d.seconds).toFixed(1)),
      mse: err.mse,
      relativeRmse: Number(Math.sqrt(err.mse / 0.02 ** 2).toFixed(5)),
      maxAbsError: err.maxAbsError,
      snrDb: Number(err.snrDb.toFixed(2)),
    };
  });

  // Perplexity of the seeded random tiny Llama (@tuneloop/model tinyModel, seed 3) on a fixed token
  // sequence, every linear but lm_head quantized. Random weights: a smoke figure, not held-out text.
  const ids = [Array.from({ length: 48 }, (_, i) => (i * 7 + 3) % TINY_LLAMA.vocabSize)];
  const ppl = (cfg: { scheme: QuantScheme; doubleQuant: boolean } | null) => {
    const m = tinyModel(TINY_LLAMA, 3);
    if (cfg) quantizeModelLinears(m, { ...cfg, blockSize: 64 });
    const p = Math.exp(tf.tidy(() => causalLmLoss(m, ids).dataSync()[0]));
    m.dispose();
    return p;
  };
  const fp32Ppl = ppl(null);
  const tinyRandomLlama = {
    fp32Perplexity: Number(fp32Ppl.toFixed(4)),
    schemes: configs.map((c) => {
      const p = ppl(c);
      return { ...c, perplexity: Number(p.toFixed(4)), relativeChange: Number((p / fp32Ppl - 1).toFixed(5)) };
    }),
  };

  process.stdout.write(
    JSON.stringify({ bench: 'quant', backend, values: n, std: 0.02, schemes, linear, tinyRandomLlama, node: process.version }, null, 2) + '\n',
  );
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
