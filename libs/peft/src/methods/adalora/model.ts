// Applying AdaLoRA: SVD-form adapters on the targets, the rank allocator as a trainer callback and the
// orthogonality regulariser as an objective term. Files as PEFT: lora_A / lora_B / lora_E / ranknum,
// sliced to the kept singular values when config.rank_pattern is set.
import * as tf from '@tensorflow/tfjs-core';
import { freezeHost, hostParameterCount, type PeftHost } from '../../core/host.ts';
import { freezeBase, type LinearModule } from '../../core/linear.ts';
import { PeftModel, peftKey } from '../../core/peft-model.ts';
import { selectTargets } from '../../core/targets.ts';
import { adapterStateDict, loadAdapterStateDict } from '../../format/adapter-state.ts';
import { toNamed, type NamedTensor } from '../../format/tensors.ts';
import type { ModelShapes, PlanRow } from '../../plan/shapes.ts';
import { adapterPlan } from '../lora/model.ts';
import { RankAllocator } from './allocator.ts';
import type { AdaLoraConfig } from './config.ts';
import { SvdLayer } from './layer.ts';
import { orthogonalityTerm } from './orthogonality.ts';

export const ADALORA_PREFIX = 'adalora';

export function applyAdaLora(host: PeftHost, c: AdaLoraConfig, seed: number): PeftModel {
  const all = host.linears();
  const baseParameters = hostParameterCount(host);
  const unfreeze = freezeHost(host);
  const targets = selectTargets([...all.keys()], c.target_modules);
  const layers = new Map<string, SvdLayer>();
  for (const name of targets) {
    const base = all.get(name) as LinearModule;
    freezeBase(base);
    const kept = c.rank_pattern?.[`${name}.lora_E`];
    if (kept && kept.length !== c.init_r) throw new Error(`rank_pattern.${name}.lora_E: must have init_r (${c.init_r}) entries, got ${kept.length}`);
    const r = kept ? kept.filter(Boolean).length : c.init_r;
    layers.set(name, new SvdLayer(base, { r, ranknum: c.init_r, alpha: c.lora_alpha, dropout: c.lora_dropout, init: c.init_lora_weights, seed, prefix: ADALORA_PREFIX }));
  }
  const allocator = new RankAllocator(layers, c);
  const config: Record<string, unknown> = { ...c };
  // the allocator's latest pattern is what gets saved
  Object.defineProperty(config, 'rank_pattern', { get: () => allocator.rankPattern ?? c.rank_pattern, enumerable: true, configurable: true });
  return new PeftModel({
    methodName: 'adalora',
    config,
    host,
    baseParameters,
    layers,
    callbacks: [allocator],
    objectiveTerms: [orthogonalityTerm(layers, c.orth_reg_weight)],
    restore: () => {
      allocator.dispose();
      unfreeze();
    },
  });
}

/** Rows of a [r, ...] tensor (or columns of lora_B) kept by `keep`. */
function sliceKept(n: NamedTensor, keep: boolean[], columns: boolean): NamedTensor {
  const idx = keep.flatMap((k, i) => (k ? [i] : []));
  const t = tf.tensor(n.data, n.shape);
  const out = tf.tidy(() => tf.gather(t, idx, columns ? 1 : 0));
  const named = toNamed(out);
  t.dispose();
  out.dispose();
  return named;
}

/** PEFT resize_state_dict_by_rank_pattern: keep the rows of lora_A / lora_E and the columns of lora_B. */
export function adaloraStateDict(m: PeftModel): Map<string, NamedTensor> {
  const out = adapterStateDict(m);
  const pattern = (m.config as unknown as AdaLoraConfig).rank_pattern;
  if (!pattern) return out;
  for (const [module, layer] of m.layers) {
    const keep = pattern[`${module}.lora_E`];
    if (!keep || keep.length !== (layer as SvdLayer).rank) continue;
    for (const t of ['lora_A', 'lora_E', 'lora_B']) {
      const key = peftKey(module, t);
      out.set(key, sliceKept(out.get(key) as NamedTensor, keep, t === 'lora_B'));
    }
  }
  return out;
}

/** Loads PEFT files with or without ranknum (newer PEFT omits it: it is always init_r). */
export function loadAdaLoraStateDict(m: PeftModel, tensors: Map<string, NamedTensor>): void {
  loadAdapterStateDict(m, tensors, [], ['ranknum']);
}

/** P [r, in] + Q [out, r] + lambda [r] trainable per target at init_r; ranknum (1) frozen. */
export function adaloraPlan(shapes: ModelShapes, c: AdaLoraConfig): PlanRow[] {
  return adapterPlan(shapes, c.target_modules, (l) => ({ trainable: c.init_r * (l.inFeatures + l.outFeatures + 1), frozen: 1 }));
}
