// QLoRA configuration (Dettmers et al. 2023): LoRA's fields (PEFT LoraConfig) plus the base quantization,
// named as transformers' BitsAndBytesConfig (bnb_4bit_quant_type, bnb_4bit_use_double_quant) and a block size.
import { boolField, intField, oneOf, rejectUnknown, type RawConfig } from '../../core/validate.ts';
import { LORA_FIELDS, parseLoraFields, type LoraConfig } from '../lora/config.ts';

export interface QloraConfig extends LoraConfig {
  bnb_4bit_quant_type: 'nf4' | 'fp4'; // 4-bit code of the frozen base (NF4: normal-float quantiles)
  bnb_4bit_use_double_quant: boolean; // quantize the absmax values again (8-bit, blocks of 256)
  block_size: number; // weights per absmax block (bitsandbytes: 64)
}

export const QLORA_QUANT_FIELDS = ['bnb_4bit_quant_type', 'bnb_4bit_use_double_quant', 'block_size'] as const;

export function parseQloraConfig(raw: RawConfig): QloraConfig {
  rejectUnknown(raw, [...LORA_FIELDS, ...QLORA_QUANT_FIELDS], 'qlora');
  const lora: RawConfig = {};
  for (const f of LORA_FIELDS) if (raw[f] !== undefined) lora[f] = raw[f];
  const blockSize = intField(raw, 'block_size', 64, 32);
  if ((blockSize & (blockSize - 1)) !== 0 || blockSize > 4096) throw new Error(`block_size: must be a power of two in [32, 4096], got ${blockSize}`);
  return {
    ...parseLoraFields(lora),
    bnb_4bit_quant_type: oneOf(raw, 'bnb_4bit_quant_type', 'nf4', ['nf4', 'fp4'] as const),
    bnb_4bit_use_double_quant: boolField(raw, 'bnb_4bit_use_double_quant', true),
    block_size: blockSize,
  };
}
