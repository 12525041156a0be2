// Full fine-tuning wraps no layer: each base unit (a linear, or an embedding / norm variable) is set
// trainable or frozen as a whole; this is the one switch full and partial share.
import type { BaseUnit } from '../../core/base-weights.ts';
import type { NamedTensor } from '../../format/tensors.ts';

/** Set each unit trainable when `trains(module)`; returns the trainable variables by HF name. */
export function setUnitsTrainable(units: BaseUnit[], trains: (module: string) => boolean): Map<string, import('@tensorflow/tfjs-core').Variable> {
  const out = new Map<string, import('@tensorflow/tfjs-core').Variable>();
  for (const u of units) {
    const t = trains(u.module);
    u.setTrainable(t);
    if (t) for (const [k, v] of u.variables) out.set(k, v);
  }
  return out;
}

/** HF-layout tensors of the units that train. */
export function saveUnits(units: BaseUnit[], trains: (module: string) => boolean): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const u of units) if (trains(u.module)) for (const [k, v] of u.save()) out.set(k, v);
  return out;
}

/** Load the trained units back; unexpected keys are an error. */
export function loadUnits(units: BaseUnit[], trains: (module: string) => boolean, tensors: Map<string, NamedTensor>): void {
  const expected = new Set<string>();
  for (const u of units) {
    if (!trains(u.module)) continue;
    u.load(tensors);
    for (const k of u.variables.keys()) expected.add(k);
  }
  for (const k of tensors.keys()) if (!expected.has(k)) throw new Error(`weights: unexpected tensor '${k}' (not a trained weight of this model)`);
}
