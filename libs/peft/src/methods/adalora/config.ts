// AdaLoRA configuration with Hugging Face PEFT's AdaLoraConfig field names (src/peft/tuners/adalora/config.py).
import { shortNames } from '../../core/targets.ts';
import { intField, numField, oneOf, rejectUnknown, targetsField, type RawConfig } from '../../core/validate.ts';
import { LLAMA_DEFAULT_TARGETS, type LoraInit } from '../lora/config.ts';

export interface AdaLoraConfig {
  init_r: number; // starting rank of every SVD-form adapter P diag(lambda) Q
  target_r: number; // average rank per module at the end: total budget = target_r * modules
  tinit: number; // warm-up steps before any pruning
  tfinal: number; // final steps with the budget fixed
  deltaT: number; // steps between budget re-allocations
  beta1: number; // EMA factor of the sensitivity
  beta2: number; // EMA factor of the uncertainty
  orth_reg_weight: number; // weight of the orthogonality regulariser on P and Q
  total_step: number; // planned optimizer steps (the schedule needs it)
  rank_pattern: Record<string, boolean[]> | null; // kept singular values per module (after allocation)
  lora_alpha: number; // scale numerator (scaling = alpha, divided by ranknum in forward)
  lora_dropout: number;
  target_modules: string[] | string;
  init_lora_weights: LoraInit;
  bias: 'none';
}

export const ADALORA_FIELDS = [
  'init_r', 'target_r', 'tinit', 'tfinal', 'deltaT', 'beta1', 'beta2', 'orth_reg_weight', 'total_step',
  'rank_pattern', 'lora_alpha', 'lora_dropout', 'target_modules', 'init_lora_weights', 'bias',
] as const;

function rankPatternField(v: unknown): Record<string, boolean[]> | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error('rank_pattern: must be an object of module -> boolean[]');
  for (const [k, m] of Object.entries(v as object)) {
    if (!Array.isArray(m) || !m.every((b) => typeof b === 'boolean')) throw new Error(`rank_pattern.${k}: must be a list of booleans`);
  }
  return v as Record<string, boolean[]>;
}

function parse(raw: RawConfig): AdaLoraConfig {
  const c: AdaLoraConfig = {
    init_r: intField(raw, 'init_r', 12, 1),
    target_r: intField(raw, 'target_r', 8, 1),
    tinit: intField(raw, 'tinit', 0, 0),
    tfinal: intField(raw, 'tfinal', 0, 0),
    deltaT: intField(raw, 'deltaT', 1, 1),
    beta1: numField(raw, 'beta1', 0.85, Number.MIN_VALUE, 1, true),
    beta2: numField(raw, 'beta2', 0.85, Number.MIN_VALUE, 1, true),
    orth_reg_weight: numField(raw, 'orth_reg_weight', 0.5, 0),
    total_step: intField(raw, 'total_step', undefined, 1),
    rank_pattern: rankPatternField(raw.rank_pattern),
    lora_alpha: numField(raw, 'lora_alpha', 8, 0),
    lora_dropout: numField(raw, 'lora_dropout', 0, 0, 1, true),
    target_modules: targetsField(raw, LLAMA_DEFAULT_TARGETS),
    init_lora_weights: oneOf<LoraInit>(raw, 'init_lora_weights', true, [true, false, 'gaussian']),
    bias: oneOf(raw, 'bias', 'none', ['none'] as const),
  };
  if (c.target_r > c.init_r) throw new Error(`target_r: must be <= init_r (${c.init_r}), got ${c.target_r}`);
  if (c.tinit >= c.total_step - c.tfinal) {
    throw new Error(`tinit: must be < total_step - tfinal (${c.total_step - c.tfinal}) so that the budget phase is not empty, got ${c.tinit}`);
  }
  return c;
}

export function parseAdaLoraConfig(raw: RawConfig): AdaLoraConfig {
  rejectUnknown(raw, ADALORA_FIELDS, 'adalora');
  return parse(raw);
}

export function adaloraAdapterConfig(c: AdaLoraConfig, baseModel: string | null, modules: string[] | null): Record<string, unknown> {
  return {
    peft_type: 'ADALORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    revision: null,
    inference_mode: true,
    r: 8, // PEFT's default; AdaLoRA ignores r and uses init_r
    lora_alpha: c.lora_alpha,
    lora_dropout: c.lora_dropout,
    target_modules: modules ? shortNames(modules) : c.target_modules,
    fan_in_fan_out: false,
    bias: c.bias,
    use_rslora: false,
    use_dora: false,
    init_lora_weights: c.init_lora_weights,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    target_r: c.target_r,
    init_r: c.init_r,
    tinit: c.tinit,
    tfinal: c.tfinal,
    deltaT: c.deltaT,
    beta1: c.beta1,
    beta2: c.beta2,
    orth_reg_weight: c.orth_reg_weight,
    total_step: c.total_step,
    rank_pattern: c.rank_pattern,
  };
}

export function adaloraFromAdapterConfig(j: RawConfig): AdaLoraConfig {
  const raw: RawConfig = {};
  for (const f of ADALORA_FIELDS) if (j[f] !== undefined && j[f] !== null) raw[f] = j[f];
  if (typeof raw.init_lora_weights !== 'boolean' && raw.init_lora_weights !== 'gaussian') delete raw.init_lora_weights;
  return parse(raw);
}
