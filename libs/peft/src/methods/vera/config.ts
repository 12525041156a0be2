// VeRA configuration with Hugging Face PEFT's VeraConfig field names (src/peft/tuners/vera/config.py).
import { shortNames } from '../../core/targets.ts';
import { boolField, intField, numField, oneOf, rejectUnknown, targetsField, type RawConfig } from '../../core/validate.ts';
import { LLAMA_DEFAULT_TARGETS } from '../lora/config.ts';

export interface VeraConfig {
  r: number; // rank of the shared random projections A [r, max_in], B [max_out, r]
  target_modules: string[] | string; // names, a full-match regex, or 'all-linear'
  projection_prng_key: number; // seed that regenerates A and B
  save_projection: boolean; // write A and B into the adapter file (tuneloop default false: regenerated from the seed)
  vera_dropout: number; // dropout on the adapter input while training
  d_initial: number; // initial value of every entry of d
  init_weights: boolean; // true: b = 0, d = d_initial (a no-op adapter); false: b = 1, d ~ N(0, 1)
  bias: 'none';
}

export const VERA_FIELDS = ['r', 'target_modules', 'projection_prng_key', 'save_projection', 'vera_dropout', 'd_initial', 'init_weights', 'bias'] as const;

function parse(raw: RawConfig): VeraConfig {
  return {
    r: intField(raw, 'r', 256, 1),
    target_modules: targetsField(raw, LLAMA_DEFAULT_TARGETS),
    projection_prng_key: intField(raw, 'projection_prng_key', 0, 0),
    save_projection: boolField(raw, 'save_projection', false),
    vera_dropout: numField(raw, 'vera_dropout', 0, 0, 1, true),
    d_initial: numField(raw, 'd_initial', 0.1, -Infinity),
    init_weights: boolField(raw, 'init_weights', true),
    bias: oneOf(raw, 'bias', 'none', ['none'] as const),
  };
}

export function parseVeraConfig(raw: RawConfig): VeraConfig {
  rejectUnknown(raw, VERA_FIELDS, 'vera');
  return parse(raw);
}

export function veraAdapterConfig(c: VeraConfig, baseModel: string | null, modules: string[] | null): Record<string, unknown> {
  return {
    peft_type: 'VERA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    revision: null,
    inference_mode: true,
    r: c.r,
    target_modules: modules ? shortNames(modules) : c.target_modules,
    projection_prng_key: c.projection_prng_key,
    save_projection: c.save_projection,
    vera_dropout: c.vera_dropout,
    d_initial: c.d_initial,
    fan_in_fan_out: false,
    bias: c.bias,
    modules_to_save: null,
    init_weights: c.init_weights,
    layers_to_transform: null,
    layers_pattern: null,
  };
}

export function veraFromAdapterConfig(j: RawConfig): VeraConfig {
  if (j.fan_in_fan_out === true) throw new Error('fan_in_fan_out: true (GPT-2 Conv1D layout) is not supported');
  return parse({
    r: j.r,
    target_modules: j.target_modules,
    projection_prng_key: j.projection_prng_key ?? 0,
    save_projection: j.save_projection ?? true,
    vera_dropout: j.vera_dropout ?? 0,
    d_initial: j.d_initial ?? 0.1,
    init_weights: j.init_weights ?? true,
    bias: j.bias ?? 'none',
  });
}
