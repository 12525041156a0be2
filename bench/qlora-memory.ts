// QLoRA memory benchmark (issue 4: "a QLoRA-style model (nf4 + double quant) loaded in memory uses at most
// 0.6 bytes per quantized parameter"): a seeded Llama-style model, its linears packed to NF4 + double quant
// with the dense base released, LoRA (r 8, QLoRA method) on top; bytes held counted and measured.
// Run: node --expose-gc --import tsx bench/qlora-memory.ts [--d 1024] [--layers 4] [--backend cpu]
import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend, type BackendName } from '@tuneloop/engine';
import { CausalLM, causalLmLoss, initWeights, type ModelConfig } from '@tuneloop/model';
import { getPeftMethod } from '@tuneloop/peft';
import { QuantizedLinear, quantizeModelLinears } from '@tuneloop/quant';
import { writeResult } from './results.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const gc = (globalThis as { gc?: () => void }).gc;
const d = Number(arg('d', '1024'));
const layers = Number(arg('layers', '4'));
// cpu by default: its tensors are plain ArrayBuffers, so disposing them shows in process memory (the WASM
// heap never shrinks, so there only tf.memory() can show the release)
const backendName = arg('backend', 'cpu') as BackendName;

const config: ModelConfig = {
  modelType: 'llama',
  vocabSize: 2048,
  hiddenSize: d,
  intermediateSize: Math.round((d * 8) / 3 / 64) * 64, // SwiGLU width ~8d/3, a multiple of 64: 2752 for d 1024
  numHiddenLayers: layers,
  numAttentionHeads: d / 64,
  numKeyValueHeads: d / 256, // GQA 4:1
  maxPositionEmbeddings: 256,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeScaling: null,
  attentionBias: false,
  tieWordEmbeddings: false,
};

/** Full GC twice with a macrotask between, so freed ArrayBuffer backing stores are accounted. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Snapshot {
  arrayBuffers: number;
  tfBytes: number;
}

async function snap(): Promise<Snapshot> {
  await settle();
  return { arrayBuffers: process.memoryUsage().arrayBuffers, tfBytes: tf.memory().numBytes };
}

const round = (x: number, n = 4) => Number(x.toFixed(n));
const mib = (b: number) => round(b / 2 ** 20, 1);

async function main(): Promise<void> {
  if (!gc) throw new Error('run with node --expose-gc --import tsx bench/qlora-memory.ts (process memory needs gc)');
  const backend = await initBackend({ backend: backendName, quiet: true });
  const s0 = await snap();

  // 1. The float32 model (seeded random weights; the constructor copies them, the sources are freed).
  const weights = initWeights(config, createRng(1), 0.02);
  const model = new CausalLM(config, weights);
  tf.dispose([...weights.values()]);
  weights.clear();
  const params = model.numParameters();
  const s1 = await snap();
  const ids = [Array.from({ length: 32 }, (_, i) => (i * 37 + 5) % config.vocabSize)];
  const fp32Loss = tf.tidy(() => causalLmLoss(model, ids).dataSync()[0]);

  // 2. Quantize every linear but lm_head to NF4 + double quant, releasing the dense base.
  const t0 = performance.now();
  const report = quantizeModelLinears(model, { scheme: 'nf4', doubleQuant: true, blockSize: 64 });
  const quantizeSeconds = (performance.now() - t0) / 1000;
  const s2 = await snap();

  // 3. QLoRA: LoRA r 8 on every projection; the packed bases are kept as they are.
  const qlora = getPeftMethod('qlora');
  const pm = qlora.apply(model, qlora.parseConfig({ r: 8, lora_alpha: 16, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }), { seed: 1 });
  const s3 = await snap();
  const t1 = performance.now();
  const { qLoss, gradNorm } = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => causalLmLoss(model, ids), pm.trainableVariables());
    const norm = Math.sqrt(Object.values(grads).reduce((a, g) => a + tf.sum(tf.square(g)).dataSync()[0], 0));
    return { qLoss: value.dataSync()[0], gradNorm: norm };
  });
  const stepSeconds = (performance.now() - t1) / 1000;

  // Counted from the packed buffers of every QuantizedLinear (codes, double-quant codes, absmax, offset).
  const buffers = new Set<ArrayBufferLike>();
  let qParams = 0;
  let counted = 0;
  for (const name of report.quantized) {
    const q = model.baseModule(name) as QuantizedLinear;
    qParams += q.weight.length;
    counted += q.weightMemoryBytes();
    const w = q.weight;
    for (const a of [w.codes, w.absmax, w.doubleQuant?.codes, w.doubleQuant?.absmax]) if (a) buffers.add(a.buffer);
  }
  const retained = [...buffers].reduce((a, b) => a + b.byteLength, 0) + (report.quantized.length * 4); // + float32 DQ offsets
  // Measured: process ArrayBuffer growth over the empty start, minus what tfjs holds (embeddings, norms,
  // lm_head, RoPE tables: on cpu those are ArrayBuffers too), over the quantized parameters.
  const fp32Held = s1.arrayBuffers - s0.arrayBuffers;
  const packedHeld = s2.arrayBuffers - s0.arrayBuffers;
  const measuredQuant = (packedHeld - (s2.tfBytes - s0.tfBytes)) / qParams;
  const tfDrop = s1.tfBytes - s2.tfBytes;

  const result = {
    bench: 'qlora-memory',
    backend: `${backend.name}`,
    config: { vocab: config.vocabSize, d, layers, heads: config.numAttentionHeads, kvHeads: config.numKeyValueHeads, intermediate: config.intermediateSize },
    parameters: params,
    quantizedParameters: qParams,
    quantizedLinears: report.quantized.length,
    scheme: 'nf4 + double quant (blocks 64, DQ blocks 256)',
    bytesPerQuantParamCounted: round(counted / qParams),
    bytesPerQuantParamRetainedBuffers: round(retained / qParams),
    bytesPerQuantParamMeasured: round(measuredQuant),
    tfBytesReleasedPerQuantParam: round(tfDrop / qParams),
    fp32BytesPerParamMeasured: round(fp32Held / params),
    modelMiB: {
      fp32: { process: mib(fp32Held), tf: mib(s1.tfBytes - s0.tfBytes) },
      packed: { process: mib(packedHeld), tf: mib(s2.tfBytes - s0.tfBytes) },
      qlora: { process: mib(s3.arrayBuffers - s0.arrayBuffers), tf: mib(s3.tfBytes - s0.tfBytes) },
    },
    packedOverFp32Process: round(packedHeld / fp32Held),
    adapterParameters: pm.parameterReport().trainable,
    trainableReport: pm.trainableReportLine(),
    lossFp32: round(fp32Loss, 5),
    lossQlora: round(qLoss, 5),
    loraGradNorm: round(gradNorm, 6),
    quantizeSeconds: round(quantizeSeconds, 2),
    qloraStepSeconds: round(stepSeconds, 2),
    target: 'bytesPerQuantParam <= 0.6',
    pass: counted / qParams <= 0.6 && measuredQuant <= 0.6,
  };
  pm.unload();
  model.dispose();
  const file = writeResult('qlora-memory', result);
  console.log(JSON.stringify({ ...result, file }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
