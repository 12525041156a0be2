// Generic adapter state dicts: every layer's declared tensors under PEFT keys
// ('base_model.model.<module>.<tensor>'), and loading them back with exact key and shape checks.
import { peftKey, type PeftModel } from '../core/peft-model.ts';
import { fromNamed, toNamed, type NamedTensor } from './tensors.ts';

export function adapterStateDict(model: PeftModel): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const [module, layer] of model.layers) {
    for (const t of layer.tensors.keys()) {
      const peft = layer.exportTensor(t);
      out.set(peftKey(module, t), toNamed(peft));
      peft.dispose();
    }
  }
  return out;
}

/** Load every declared layer tensor; `extraKeys` are keys the method consumed itself (VeRA's shared A/B). */
export function loadAdapterStateDict(model: PeftModel, tensors: Map<string, NamedTensor>, extraKeys: string[] = [], optional: string[] = []): void {
  const expected = new Set<string>(extraKeys);
  for (const [module, layer] of model.layers) {
    for (const t of layer.tensors.keys()) {
      const key = peftKey(module, t);
      expected.add(key);
      const n = tensors.get(key);
      if (!n) {
        if (optional.includes(t)) continue;
        throw new Error(`adapter_model.safetensors: missing tensor '${key}'`);
      }
      const value = fromNamed(key, n);
      try {
        layer.setTensor(t, value);
      } finally {
        value.dispose();
      }
    }
  }
  for (const key of tensors.keys()) {
    if (!expected.has(key)) throw new Error(`adapter_model.safetensors: unexpected tensor '${key}' (no such adapter module or tensor)`);
  }
}
