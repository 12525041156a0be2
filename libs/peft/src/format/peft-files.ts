// Save / load adapters as Hugging Face PEFT files, as pure functions over objects and bytes:
// adapter_config.json (PEFT field names) + adapter_model.safetensors (PEFT tensor keys, F32).
import { parseSafetensors, serializeSafetensors, toFloat32, fromFloat32 } from '@tuneloop/model';
import type { PeftHost } from '../core/host.ts';
import type { PeftModel } from '../core/peft-model.ts';
import { getPeftMethod, listPeftMethods, type PeftMethod } from '../core/registry.ts';
import type { NamedTensor } from './tensors.ts';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

export interface AdapterFiles {
  adapterConfig: Record<string, unknown>;
  tensors: Map<string, NamedTensor>;
}

/** The adapter's config object and tensors under PEFT names. */
export function saveAdapter(model: PeftModel, opts: { baseModel?: string | null } = {}): AdapterFiles {
  const method = getPeftMethod(model.methodName);
  const modules = model.layers.size > 0 ? [...model.layers.keys()] : null;
  return {
    adapterConfig: method.adapterConfig(model.config, { baseModel: opts.baseModel ?? null, modules }),
    tensors: method.stateDict(model),
  };
}

/** Which registered method an adapter_config.json belongs to (QLoRA files read as LoRA unless `method` says qlora). */
export function detectMethod(adapterConfig: Record<string, unknown>, method?: string): PeftMethod<object> {
  if (method) return getPeftMethod(method);
  const hits = listPeftMethods().filter((m) => m.recognises(adapterConfig));
  if (hits.length !== 1) {
    throw new Error(`adapter_config.json peft_type: unsupported adapter type ${JSON.stringify(adapterConfig.peft_type ?? adapterConfig.tuneloop_method ?? null)}`);
  }
  return hits[0];
}

/**
 * Apply the adapter described by `files` to `host` and load its tensors. `overrides` are config fields
 * the file cannot carry (QLoRA's base quantization: bnb_4bit_quant_type, block_size, ...).
 */
export function loadAdapter(
  host: PeftHost,
  files: AdapterFiles,
  opts: { method?: string; seed?: number; overrides?: Record<string, unknown> } = {},
): PeftModel {
  const j = files.adapterConfig;
  if (Array.isArray(j.modules_to_save) && j.modules_to_save.length > 0) {
    throw new Error(`modules_to_save: fully trained extra modules are not supported, got ${JSON.stringify(j.modules_to_save)}`);
  }
  if (j.lora_bias === true) throw new Error('lora_bias: trained LoRA biases are not supported');
  const method = detectMethod(j, opts.method);
  const fromFile = method.fromAdapterConfig(files.adapterConfig);
  const config = opts.overrides ? method.parseConfig({ ...fromFile, ...opts.overrides }) : fromFile;
  const model = method.apply(host, config, { seed: opts.seed ?? 0 });
  try {
    method.loadStateDict(model, files.tensors);
  } catch (e) {
    model.unload();
    throw e;
  }
  return model;
}

/** The two files' bytes: JSON text and safetensors. */
export function encodeAdapterFiles(files: AdapterFiles): { [ADAPTER_CONFIG_FILE]: string; [ADAPTER_WEIGHTS_FILE]: Uint8Array } {
  const raw = [...files.tensors].map(([k, t]) => [k, fromFloat32(t.data, 'F32', t.shape)] as const);
  return {
    [ADAPTER_CONFIG_FILE]: JSON.stringify(files.adapterConfig, null, 2) + '\n',
    [ADAPTER_WEIGHTS_FILE]: serializeSafetensors(new Map(raw), { format: 'pt' }),
  };
}

/** Parse the two files (any float dtype PEFT writes: F32, F16, BF16 become F32). */
export function decodeAdapterFiles(configJson: string, safetensors: Uint8Array): AdapterFiles {
  let adapterConfig: Record<string, unknown>;
  try {
    adapterConfig = JSON.parse(configJson) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${ADAPTER_CONFIG_FILE}: not valid JSON: ${(e as Error).message}`);
  }
  if (!adapterConfig || typeof adapterConfig !== 'object' || Array.isArray(adapterConfig)) throw new Error(`${ADAPTER_CONFIG_FILE}: must be a JSON object`);
  // a Node Buffer's slice() is a view, which @tuneloop/model's toFloat32 would read past: use a plain copy
  const bytes = Object.getPrototypeOf(safetensors) === Uint8Array.prototype ? safetensors : new Uint8Array(safetensors);
  const tensors = new Map<string, NamedTensor>();
  for (const [k, t] of parseSafetensors(bytes).tensors) tensors.set(k, { dtype: 'F32', shape: [...t.shape], data: toFloat32(t) });
  return { adapterConfig, tensors };
}
