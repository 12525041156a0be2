// Applying LoRA to a model: pick the target linears, freeze their bases, wrap each in a LoraLayer;
// also the LoRA parameter formula r * (in + out) per target, shared by DoRA and QLoRA.
import { freezeHost, hostParameterCount, type PeftHost } from '../../core/host.ts';
import { freezeBase, type LinearModule } from '../../core/linear.ts';
import { PeftModel } from '../../core/peft-model.ts';
import { selectTargets } from '../../core/targets.ts';
import { linearNumel, type LinearShape, type ModelShapes, type PlanRow } from '../../plan/shapes.ts';
import type { LoraConfig } from './config.ts';
import { LoraLayer, additiveComposition, rsloraScaling, standardScaling, type LoraComposition } from './layer.ts';

export interface LoraFamilyOptions {
  methodName: string;
  prefix: string;
  seed: number;
  composition?: (layer: LoraLayer) => LoraComposition;
  /** Replace a base before wrapping (QLoRA quantizes it). */
  prepareBase?: (base: LinearModule) => LinearModule;
}

export function applyLoraFamily(host: PeftHost, config: LoraConfig, o: LoraFamilyOptions): PeftModel {
  const all = host.linears();
  const baseParameters = hostParameterCount(host);
  const unfreeze = freezeHost(host);
  const targets = selectTargets([...all.keys()], config.target_modules);
  const layers = new Map<string, LoraLayer>();
  for (const name of targets) {
    const original = all.get(name) as LinearModule;
    freezeBase(original);
    const base = o.prepareBase ? o.prepareBase(original) : original;
    layers.set(
      name,
      new LoraLayer(base, {
        r: config.r,
        alpha: config.lora_alpha,
        dropout: config.lora_dropout,
        init: config.init_lora_weights,
        scaling: config.use_rslora ? rsloraScaling : standardScaling,
        composition: o.composition ?? additiveComposition,
        seed: o.seed,
        prefix: o.prefix,
      }),
    );
  }
  return new PeftModel({ methodName: o.methodName, config: { ...config }, host, baseParameters, layers, restore: unfreeze });
}

/**
 * Plan rows for an adapter method: each target linear gets `adapter(l)` extra parameters that all
 * train; other modules are frozen.
 */
export function adapterPlan(
  shapes: ModelShapes,
  targets: string[] | string,
  adapter: (l: LinearShape) => { trainable: number; frozen?: number },
): PlanRow[] {
  const chosen = new Set(selectTargets(shapes.linears.map((l) => l.name), targets));
  const rows: PlanRow[] = [];
  for (const l of shapes.linears) {
    const base = linearNumel(l);
    if (!chosen.has(l.name)) {
      rows.push({ module: l.name, trainable: 0, total: base });
      continue;
    }
    const a = adapter(l);
    rows.push({ module: l.name, trainable: a.trainable, total: base + a.trainable + (a.frozen ?? 0) });
  }
  for (const o of shapes.others) rows.push({ module: o.name, trainable: 0, total: o.numel });
  return rows;
}

/** LoRA: A [r, in] + B [out, r] per target. */
export function loraPlan(shapes: ModelShapes, c: LoraConfig): PlanRow[] {
  return adapterPlan(shapes, c.target_modules, (l) => ({ trainable: c.r * (l.inFeatures + l.outFeatures) }));
}
