// DoRA configuration: LoRA's fields (PEFT LoraConfig) with use_dora = true in adapter_config.json.
import { parseLoraFields, LORA_FIELDS, type LoraConfig } from '../lora/config.ts';
import { rejectUnknown, type RawConfig } from '../../core/validate.ts';

export type DoraConfig = LoraConfig;

export function parseDoraConfig(raw: RawConfig): DoraConfig {
  rejectUnknown(raw, [...LORA_FIELDS, 'use_dora'], 'dora');
  if (raw.use_dora !== undefined && raw.use_dora !== true) throw new Error(`use_dora: must be true for dora, got ${String(raw.use_dora)}`);
  const { use_dora: _ignored, ...rest } = raw;
  return parseLoraFields(rest);
}
