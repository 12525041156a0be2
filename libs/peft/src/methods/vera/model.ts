// Applying VeRA: one pair of frozen random projections sized to the largest target, regenerated from
// projection_prng_key; per target, vectors d [r] and b [out]. File keys as PEFT: base_model.vera_A / vera_B.
import * as tf from '@tensorflow/tfjs-core';
import { freezeHost, hostParameterCount, type PeftHost } from '../../core/host.ts';
import { freezeBase, type LinearModule } from '../../core/linear.ts';
import { PeftModel } from '../../core/peft-model.ts';
import { deriveSeed, kaimingUniform } from '../../core/random.ts';
import { selectTargets } from '../../core/targets.ts';
import { adapterStateDict, loadAdapterStateDict } from '../../format/adapter-state.ts';
import { fromNamed, toNamed, type NamedTensor } from '../../format/tensors.ts';
import type { ModelShapes, PlanRow } from '../../plan/shapes.ts';
import { adapterPlan } from '../lora/model.ts';
import type { VeraConfig } from './config.ts';
import { VeraLayer } from './layer.ts';

export const VERA_PREFIX = 'vera';
export const VERA_A_KEY = 'base_model.vera_A';
export const VERA_B_KEY = 'base_model.vera_B';

/** A [r, max_in] and B [max_out, r], Kaiming-uniform from the seed (deterministic; not torch's stream). */
export function veraProjections(r: number, maxIn: number, maxOut: number, key: number): { A: tf.Tensor2D; B: tf.Tensor2D } {
  return { A: kaimingUniform([r, maxIn], deriveSeed(key, 'vera_A')), B: kaimingUniform([maxOut, r], deriveSeed(key, 'vera_B')) };
}

export function applyVera(host: PeftHost, c: VeraConfig, seed: number): PeftModel {
  const all = host.linears();
  const baseParameters = hostParameterCount(host);
  const unfreeze = freezeHost(host);
  const targets = selectTargets([...all.keys()], c.target_modules);
  const bases = targets.map((n) => all.get(n) as LinearModule);
  const maxIn = Math.max(...bases.map((b) => b.inFeatures));
  const maxOut = Math.max(...bases.map((b) => b.outFeatures));
  const { A, B } = veraProjections(c.r, maxIn, maxOut, c.projection_prng_key);
  const layers = new Map<string, VeraLayer>();
  for (const base of bases) {
    freezeBase(base);
    layers.set(base.name, new VeraLayer(base, A, B, { r: c.r, dropout: c.vera_dropout, dInitial: c.d_initial, initWeights: c.init_weights, seed, prefix: VERA_PREFIX }));
  }
  const shared = new Map<string, tf.Tensor>([
    [VERA_A_KEY, A],
    [VERA_B_KEY, B],
  ]);
  return new PeftModel({ methodName: 'vera', config: { ...c }, host, baseParameters, layers, shared, restore: unfreeze });
}

export function veraStateDict(m: PeftModel): Map<string, NamedTensor> {
  const out = adapterStateDict(m);
  if ((m.config as unknown as VeraConfig).save_projection) {
    for (const k of [VERA_A_KEY, VERA_B_KEY]) out.set(k, toNamed(m.shared.get(k) as tf.Tensor));
  }
  return out;
}

export function loadVeraStateDict(m: PeftModel, tensors: Map<string, NamedTensor>): void {
  const hasA = tensors.has(VERA_A_KEY) && tensors.has(VERA_B_KEY);
  if ((m.config as unknown as VeraConfig).save_projection && !hasA) {
    throw new Error(`adapter_model.safetensors: save_projection is true but '${VERA_A_KEY}' / '${VERA_B_KEY}' are missing`);
  }
  if (hasA) {
    const A = fromNamed(VERA_A_KEY, tensors.get(VERA_A_KEY) as NamedTensor) as tf.Tensor2D;
    const B = fromNamed(VERA_B_KEY, tensors.get(VERA_B_KEY) as NamedTensor) as tf.Tensor2D;
    for (const l of m.layers.values()) (l as VeraLayer).setProjections(A, B);
    m.shared.get(VERA_A_KEY)?.dispose();
    m.shared.get(VERA_B_KEY)?.dispose();
    m.shared.set(VERA_A_KEY, A);
    m.shared.set(VERA_B_KEY, B);
  }
  loadAdapterStateDict(m, tensors, hasA ? [VERA_A_KEY, VERA_B_KEY] : []);
}

/** d [r] + b [out] per target (the shared A, B are frozen buffers, not parameters, as in PEFT). */
export function veraPlan(shapes: ModelShapes, c: VeraConfig): PlanRow[] {
  return adapterPlan(shapes, c.target_modules, (l) => ({ trainable: c.r + l.outFeatures }));
}
