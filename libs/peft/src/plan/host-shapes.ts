// ModelShapes of a live model (its linears, and its other named weights), so a method's plan can be
// compared with the parameters it actually creates.
import type { PeftHost } from '../core/host.ts';
import type { LinearShape, ModelShapes } from './shapes.ts';

export function shapesOfHost(host: PeftHost): ModelShapes {
  const linears: LinearShape[] = [];
  const names = new Set<string>();
  const weights = host.namedWeights?.() ?? new Map();
  for (const [name, l] of host.linears()) {
    const bias = weights.has(`${name}.bias`);
    linears.push({ name, inFeatures: l.inFeatures, outFeatures: l.outFeatures, bias });
    names.add(name);
  }
  const others: { name: string; numel: number }[] = [];
  for (const [k, t] of weights) {
    const module = k.replace(/\.(weight|bias)$/, '');
    if (!names.has(module)) others.push({ name: module, numel: t.size });
  }
  return { linears, others };
}
