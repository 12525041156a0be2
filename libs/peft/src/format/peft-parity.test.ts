// Parity with Hugging Face PEFT: adapters written by PEFT 0.21 (fixtures/, made by scripts/make_peft_fixture.py
// on a tiny random LlamaForCausalLM) load here and give PEFT's logits; saving them again gives PEFT's keys and shapes.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { CausalLM, modelConfigFromHf, parseSafetensors, tensorsFromRaw } from '@tuneloop/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeAdapterFiles, loadAdapter, saveAdapter, selectTargets } from '../index.ts';

const dir = new URL('./fixtures/', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, dir));
const IDS = (JSON.parse(read('inputs.json').toString()) as { ids: number[][] }).ids;

function baseModel(): CausalLM {
  const weights = tensorsFromRaw(parseSafetensors(new Uint8Array(read('base/model.safetensors'))).tensors);
  const m = new CausalLM(modelConfigFromHf(JSON.parse(read('base/config.json').toString())), weights);
  tf.dispose([...weights.values()]);
  return m;
}

const expected = parseSafetensors(new Uint8Array(read('expected_logits.safetensors'))).tensors;
const expectedLogits = (name: string) => tensorsFromRaw(new Map([[name, expected.get(name)!]])).get(name) as tf.Tensor;
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

describe('Hugging Face PEFT parity', () => {
  it('the base model reproduces transformers logits', () => {
    const m = baseModel();
    const y = m.forward({ inputIds: IDS });
    const want = expectedLogits('base');
    expect(maxDiff(y, want)).toBeLessThan(1e-4);
    tf.dispose([y, want]);
    m.dispose();
  });

  it.each(['lora', 'rslora', 'dora', 'vera', 'adalora'])('%s: a PEFT adapter loads and gives PEFT logits; saving it again gives PEFT keys', (name) => {
    const files = decodeAdapterFiles(read(`${name}/adapter_config.json`).toString(), read(`${name}/adapter_model.safetensors`));
    const m = baseModel();
    const pm = loadAdapter(m, files);
    const y = m.forward({ inputIds: IDS });
    const want = expectedLogits(name);
    const base = expectedLogits('base');
    expect(maxDiff(want, base)).toBeGreaterThan(1e-2); // the adapter really changes the output
    expect(maxDiff(y, want)).toBeLessThan(1e-4);
    const again = saveAdapter(pm, { baseModel: null });
    const ours = new Map([...again.tensors].filter(([k]) => !k.endsWith('.ranknum')));
    expect([...ours.keys()].sort()).toEqual([...files.tensors.keys()].sort());
    for (const [k, t] of files.tensors) {
      expect(ours.get(k)?.shape).toEqual(t.shape);
      expect(Math.max(...(ours.get(k) as { data: Float32Array }).data.map((v, i) => Math.abs(v - t.data[i])))).toBeLessThan(1e-6);
    }
    // PEFT 0.21 writes all-linear expanded to full paths, tuneloop short names: both select the same modules
    const linears = [...m.linears().keys()];
    const resolve = (t: unknown) => selectTargets(linears, t as string[]).sort();
    expect(resolve(again.adapterConfig.target_modules)).toEqual(resolve(files.adapterConfig.target_modules));
    expect([...pm.layers.keys()].sort()).toEqual(resolve(files.adapterConfig.target_modules));
    for (const f of ['peft_type', 'r', 'lora_alpha', 'use_rslora', 'use_dora', 'init_r', 'target_r', 'rank_pattern', 'projection_prng_key', 'save_projection']) {
      if (f in files.adapterConfig) expect([f, again.adapterConfig[f]]).toEqual([f, files.adapterConfig[f]]);
    }
    tf.dispose([y, want, base]);
    pm.unload();
    m.dispose();
  });
});
