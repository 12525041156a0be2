// ModelShapes of a live model (its linears, and its other named weights), so a method's plan can be
// compared with the parameters it actually creates.
import { hasBias, nonLinearVariables, type PeftHost } from '../core/host.ts';
import type { ModelShapes } from './shapes.ts';

export function shapesOfHost(host: PeftHost): ModelShapes {
  const linears = [...host.linears()].map(([name, l]) => ({ name, inFeatures: l.inFeatures, outFeatures: l.outFeatures, bias: hasBias(l) }));
  const others = [...nonLinearVariables(host)].map(([k, v]) => ({ name: k.replace(/\.(weight|bias)$/, ''), numel: v.size }));
  return { linears, others };
}
