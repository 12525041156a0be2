// Loads a stored model (plain or quantized, see quantized-format.ts) into the model engine: either
// dequantized into a plain CausalLM, or with its quantized linears kept packed as QuantizedLinear.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  CausalLM,
  expectedWeightShapes,
  INDEX_FILE,
  modelConfigFromHf,
  parseSafetensors,
  parseShardIndex,
  SINGLE_FILE,
  tensorFromRaw,
  toFloat32,
  type ModelConfig,
  type RawTensor,
} from '@tuneloop/model';
import { initBackend } from '@tuneloop/engine';
import { dequantize, QuantizedLinear } from '@tuneloop/quant';
import { decodeQuantized, type DecodedModel } from './quantized-format.ts';

export type LoadMode = 'dequantize' | 'packed';

const LINEAR_WEIGHT = /\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$|^lm_head\.weight$/;

/** Builds a CausalLM; in 'packed' mode every quantized linear weight becomes a QuantizedLinear that the
 * model is built with (no dense float32 copy is ever made of it). */
export function buildModel(config: ModelConfig, decoded: DecodedModel, mode: LoadMode = 'dequantize'): CausalLM {
  const weights = new Map<string, tf.Tensor>();
  const linears = new Map<string, QuantizedLinear>(); // packed: built straight from the codes, no float32 copy
  try {
    const linearNames = new Set([...expectedWeightShapes(config).keys()].filter((n) => LINEAR_WEIGHT.test(n)));
    for (const [n, { q }] of decoded.quantized) {
      if (mode !== 'packed' || !linearNames.has(n)) continue;
      const module = n.replace(/\.weight$/, '');
      const b = decoded.plain.get(`${module}.bias`);
      linears.set(module, new QuantizedLinear(module, q, b ? Float32Array.from(toFloat32(b)) : null));
    }
    const packedTensor = (n: string) => linears.has(n.replace(/\.(weight|bias)$/, ''));
    for (const [n, t] of decoded.plain) if (!packedTensor(n)) weights.set(n, tensorFromRaw(t));
    for (const [n, { q }] of decoded.quantized) if (!packedTensor(n)) weights.set(n, tf.tensor(dequantize(q), q.shape, 'float32'));
    return new CausalLM(config, weights, { linears });
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}

/** Decodes the safetensors files of a model (single or sharded) from their bytes. */
export function decodeModelFiles(files: Map<string, Uint8Array>): DecodedModel {
  const index = files.get(INDEX_FILE);
  const names = index ? parseShardIndex(JSON.parse(new TextDecoder().decode(index))).files : [SINGLE_FILE];
  const tensors = new Map<string, RawTensor>();
  let metadata: Record<string, string> | null = null;
  const metas: DecodedModel[] = [];
  for (const name of names) {
    const bytes = files.get(name);
    if (!bytes) throw new Error(`${name}: missing from the model files`);
    const parsed = parseSafetensors(bytes);
    metas.push(decodeQuantized(parsed.tensors, parsed.metadata));
    metadata ??= parsed.metadata;
    for (const [n, t] of parsed.tensors) tensors.set(n, t);
  }
  const out: DecodedModel = { plain: new Map(), quantized: new Map(), meta: metas.find((m) => m.meta)?.meta ?? null };
  for (const m of metas) {
    for (const [n, t] of m.plain) out.plain.set(n, t);
    for (const [n, q] of m.quantized) out.quantized.set(n, q);
  }
  return out;
}

/** A plain Uint8Array view of a Buffer (whose slice() would not copy). */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Loads a model folder written by the store (`tuneloop model pull`), quantized or not. */
export async function loadStoredModel(dir: string, mode: LoadMode = 'dequantize'): Promise<{ model: CausalLM; config: ModelConfig; decoded: DecodedModel }> {
  const config = modelConfigFromHf(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')));
  const files = new Map<string, Uint8Array>();
  const index = await readFile(join(dir, INDEX_FILE)).catch(() => null);
  if (index) {
    files.set(INDEX_FILE, index);
    for (const f of parseShardIndex(JSON.parse(index.toString('utf8'))).files) files.set(f, plain(await readFile(join(dir, f))));
  } else {
    files.set(SINGLE_FILE, plain(await readFile(join(dir, SINGLE_FILE))));
  }
  const decoded = decodeModelFiles(files);
  await initBackend();
  return { model: buildModel(config, decoded, mode), config, decoded };
}
