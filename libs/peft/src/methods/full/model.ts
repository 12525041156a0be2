// Applying full fine-tuning: every base unit trains; the plan counts every parameter as trainable.
import { baseUnits } from '../../core/base-weights.ts';
import { hostParameterCount, type PeftHost } from '../../core/host.ts';
import { PeftModel } from '../../core/peft-model.ts';
import type { NamedTensor } from '../../format/tensors.ts';
import { linearNumel, type ModelShapes, type PlanRow } from '../../plan/shapes.ts';
import { loadUnits, saveUnits, setUnitsTrainable } from './layer.ts';

/** Train the units selected by `trains` and freeze the rest (full: all). */
export function applyUnitSelection(host: PeftHost, methodName: string, config: Record<string, unknown>, trains: (m: string) => boolean): PeftModel {
  const units = baseUnits(host);
  if (!units.some((u) => trains(u.module))) throw new Error(`${methodName}: the rules select no parameter of the model`);
  const trainableWeights = setUnitsTrainable(units, trains);
  return new PeftModel({
    methodName,
    config,
    host,
    baseParameters: hostParameterCount(host),
    trainableWeights,
    restore: () => setUnitsTrainable(units, () => true),
  });
}

export function unitsStateDict(m: PeftModel, trains: (module: string) => boolean): Map<string, NamedTensor> {
  return saveUnits(baseUnits(m.host), trains);
}

export function loadUnitsStateDict(m: PeftModel, trains: (module: string) => boolean, t: Map<string, NamedTensor>): void {
  loadUnits(baseUnits(m.host), trains, t);
}

/** Plan rows: each module trains all its parameters or none. */
export function unitPlan(shapes: ModelShapes, trains: (m: string) => boolean): PlanRow[] {
  const rows: PlanRow[] = [];
  for (const l of shapes.linears) rows.push({ module: l.name, trainable: trains(l.name) ? linearNumel(l) : 0, total: linearNumel(l) });
  for (const o of shapes.others) rows.push({ module: o.name, trainable: trains(o.name) ? o.numel : 0, total: o.numel });
  return rows;
}

export function applyFull(host: PeftHost): PeftModel {
  return applyUnitSelection(host, 'full', {}, () => true);
}
