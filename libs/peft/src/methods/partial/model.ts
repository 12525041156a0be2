// Applying partial fine-tuning: the rule picks the units that train; frozen units get no gradients
// (their variables are not trainable) and no optimizer state (they are not in trainableVariables()).
import { baseUnits } from '../../core/base-weights.ts';
import type { PeftHost } from '../../core/host.ts';
import type { PeftModel } from '../../core/peft-model.ts';
import type { ModelShapes, PlanRow } from '../../plan/shapes.ts';
import { applyUnitSelection, unitPlan } from '../full/model.ts';
import { blockCount, partialRule, type PartialConfig } from './config.ts';

export function partialRuleForHost(host: PeftHost, c: PartialConfig): (m: string) => boolean {
  return partialRule(c, blockCount(baseUnits(host).map((u) => u.module)));
}

export function applyPartial(host: PeftHost, c: PartialConfig): PeftModel {
  return applyUnitSelection(host, 'partial', { ...c }, partialRuleForHost(host, c));
}

export function partialPlan(shapes: ModelShapes, c: PartialConfig): PlanRow[] {
  const names = [...shapes.linears.map((l) => l.name), ...shapes.others.map((o) => o.name)];
  return unitPlan(shapes, partialRule(c, blockCount(names)));
}
