// Applying DoRA: LoRA's targets and A/B, composed with the magnitude vector; plan adds d_out per target.
import type { PeftHost } from '../../core/host.ts';
import type { PeftModel } from '../../core/peft-model.ts';
import type { ModelShapes, PlanRow } from '../../plan/shapes.ts';
import { adapterPlan, applyLoraFamily } from '../lora/model.ts';
import type { DoraConfig } from './config.ts';
import { doraComposition } from './layer.ts';

export const DORA_PREFIX = 'dora';

export function applyDora(host: PeftHost, config: DoraConfig, seed: number): PeftModel {
  return applyLoraFamily(host, config, { methodName: 'dora', prefix: DORA_PREFIX, seed, composition: doraComposition(DORA_PREFIX) });
}

/** r * (in + out) for A, B plus out for the magnitude m. */
export function doraPlan(shapes: ModelShapes, c: DoraConfig): PlanRow[] {
  return adapterPlan(shapes, c.target_modules, (l) => ({ trainable: c.r * (l.inFeatures + l.outFeatures) + l.outFeatures }));
}
