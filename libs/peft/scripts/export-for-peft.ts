// Writes adapters made by tuneloop (LoRA, rsLoRA, DoRA, VeRA with save_projection, AdaLoRA after rank
// allocation) on the fixture base model, plus their logits, for scripts/check_in_peft.py to load in PEFT.
// Run by hand: npx tsx libs/peft/scripts/export-for-peft.ts OUT_DIR
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, initBackend } from '@tuneloop/engine';
import { CausalLM, causalLmLoss, fromFloat32, modelConfigFromHf, parseSafetensors, serializeSafetensors, tensorsFromRaw } from '@tuneloop/model';
import { encodeAdapterFiles, getPeftMethod, saveAdapter } from '../src/index.ts';

const out = process.argv[2];
if (!out) throw new Error('usage: export-for-peft.ts OUT_DIR');
const fx = new URL('../src/format/fixtures/', import.meta.url);
const read = (p: string) => new Uint8Array(readFileSync(new URL(p, fx)));
const IDS = (JSON.parse(readFileSync(new URL('inputs.json', fx), 'utf8')) as { ids: number[][] }).ids;

function baseModel(): CausalLM {
  const w = tensorsFromRaw(parseSafetensors(read('base/model.safetensors')).tensors);
  const m = new CausalLM(modelConfigFromHf(JSON.parse(new TextDecoder().decode(read('base/config.json')))), w);
  tf.dispose([...w.values()]);
  return m;
}

const CASES: Record<string, [string, Record<string, unknown>]> = {
  lora: ['lora', { r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj', 'down_proj'] }],
  rslora: ['lora', { r: 4, lora_alpha: 8, use_rslora: true, target_modules: 'all-linear' }],
  dora: ['dora', { r: 2, lora_alpha: 4, target_modules: ['q_proj', 'k_proj', 'up_proj'] }],
  vera: ['vera', { r: 4, target_modules: ['q_proj', 'v_proj', 'down_proj'], save_projection: true, projection_prng_key: 7 }],
  adalora: ['adalora', { init_r: 4, target_r: 2, tinit: 1, tfinal: 2, total_step: 6, lora_alpha: 8, target_modules: ['q_proj', 'o_proj'] }],
};

await initBackend({ backend: 'cpu', quiet: true });
const logits = new Map<string, ReturnType<typeof fromFloat32>>();
for (const [name, [method, raw]] of Object.entries(CASES)) {
  const model = baseModel();
  const m = getPeftMethod(method);
  const pm = m.apply(model, m.parseConfig(raw), { seed: 5 });
  const vars = pm.trainableVariables();
  const opt = new AdamW({ weightDecay: 0 });
  for (let step = 1; step <= 6; step++) {
    const { value, grads } = tf.variableGrads(() => tf.addN([causalLmLoss(model, IDS), ...pm.objectiveTerms.map((t) => t.compute())]) as tf.Scalar, vars);
    opt.apply(vars, vars.map((v) => grads[v.name]), 0.05);
    for (const cb of pm.callbacks) cb.onStepEnd({ step, grads: new Map(Object.entries(grads)) });
    tf.dispose([value, ...Object.values(grads)]);
  }
  const y = model.forward({ inputIds: IDS });
  logits.set(name, fromFloat32(y.dataSync() as Float32Array, 'F32', [...y.shape]));
  y.dispose();
  const files = encodeAdapterFiles(saveAdapter(pm, { baseModel: null }));
  mkdirSync(join(out, name), { recursive: true });
  writeFileSync(join(out, name, 'adapter_config.json'), files['adapter_config.json']);
  writeFileSync(join(out, name, 'adapter_model.safetensors'), files['adapter_model.safetensors']);
  pm.unload();
  model.dispose();
}
writeFileSync(join(out, 'tuneloop_logits.safetensors'), serializeSafetensors(logits));
console.log(`wrote ${[...logits.keys()].join(', ')} to ${out}`);
