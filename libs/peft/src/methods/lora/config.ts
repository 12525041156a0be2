// LoRA configuration with Hugging Face PEFT's LoraConfig field names (src/peft/tuners/lora/config.py).
import { boolField, intField, numField, oneOf, rejectUnknown, targetsField, type RawConfig } from '../../core/validate.ts';
import { shortNames } from '../../core/targets.ts';

export type LoraInit = true | false | 'gaussian';

export interface LoraConfig {
  r: number; // rank of A [r, in] and B [out, r]
  lora_alpha: number; // scale numerator: alpha / r (or alpha / sqrt(r) with rsLoRA)
  lora_dropout: number; // dropout on the adapter input while training
  target_modules: string[] | string; // names (q_proj, ...), a full-match regex, or 'all-linear'
  use_rslora: boolean; // rank-stabilised scaling alpha / sqrt(r) (Kalajdzievski 2023)
  init_lora_weights: LoraInit; // true: A Kaiming-uniform, B = 0; 'gaussian': A ~ N(0, 1/r), B = 0; false: both random
  bias: 'none'; // only 'none': biases stay frozen
}

/** PEFT's default targets for Llama-family models. */
export const LLAMA_DEFAULT_TARGETS = ['q_proj', 'v_proj'];

export const LORA_FIELDS = ['r', 'lora_alpha', 'lora_dropout', 'target_modules', 'use_rslora', 'init_lora_weights', 'bias'] as const;

export function parseLoraFields(raw: RawConfig): LoraConfig {
  return {
    r: intField(raw, 'r', 8, 1),
    lora_alpha: numField(raw, 'lora_alpha', 8, Number.MIN_VALUE),
    lora_dropout: numField(raw, 'lora_dropout', 0, 0, 1, true),
    target_modules: targetsField(raw, LLAMA_DEFAULT_TARGETS),
    use_rslora: boolField(raw, 'use_rslora', false),
    init_lora_weights: oneOf<LoraInit>(raw, 'init_lora_weights', true, [true, false, 'gaussian']),
    bias: oneOf(raw, 'bias', 'none', ['none'] as const),
  };
}

export function parseLoraConfig(raw: RawConfig): LoraConfig {
  rejectUnknown(raw, LORA_FIELDS, 'lora');
  return parseLoraFields(raw);
}

/** adapter_config.json for a LoRA-family adapter (LoRA, DoRA, QLoRA all have peft_type LORA). */
export function loraAdapterConfig(
  c: LoraConfig,
  baseModel: string | null,
  resolvedTargets: string[] | null,
  useDora: boolean,
): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    revision: null,
    inference_mode: true,
    r: c.r,
    lora_alpha: c.lora_alpha,
    lora_dropout: c.lora_dropout,
    target_modules: resolvedTargets ? shortNames(resolvedTargets) : c.target_modules,
    exclude_modules: null,
    fan_in_fan_out: false,
    bias: c.bias,
    use_rslora: c.use_rslora,
    use_dora: useDora,
    init_lora_weights: c.init_lora_weights,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    lora_bias: false,
  };
}

/** The LoRA fields of a PEFT adapter_config.json (unknown PEFT fields are ignored; unsupported ones refused). */
export function loraFieldsFromAdapterConfig(j: RawConfig): LoraConfig {
  if (j.fan_in_fan_out === true) throw new Error('fan_in_fan_out: true (GPT-2 Conv1D layout) is not supported');
  for (const f of ['rank_pattern', 'alpha_pattern'] as const) {
    if (j[f] && typeof j[f] === 'object' && Object.keys(j[f] as object).length > 0) throw new Error(`${f}: per-module patterns are not supported`);
  }
  if (j.layers_to_transform !== undefined && j.layers_to_transform !== null) throw new Error('layers_to_transform: not supported');
  // PiSSA / OLoRA / CorDA / LoftQ rewrite the base weights in PEFT: their adapters are not deltas on the original base
  if (typeof j.init_lora_weights === 'string' && /^(pissa|olora|corda|loftq)/.test(j.init_lora_weights)) {
    throw new Error(`init_lora_weights: '${j.init_lora_weights}' adapters need the base PEFT modified at init; not supported`);
  }
  // other initialisations (eva, orthogonal, ...) only matter before training: the loaded tensors replace them
  const init = j.init_lora_weights === false || j.init_lora_weights === 'gaussian' ? j.init_lora_weights : true;
  return parseLoraFields({
    r: j.r,
    lora_alpha: j.lora_alpha,
    lora_dropout: j.lora_dropout,
    target_modules: j.target_modules,
    use_rslora: j.use_rslora ?? false,
    init_lora_weights: init,
    bias: j.bias ?? 'none',
  });
}
