// Applying QLoRA: quantize every target base to packed 4-bit, then LoRA on top; same trainable count as LoRA.
import type { PeftHost } from '../../core/host.ts';
import type { PeftModel } from '../../core/peft-model.ts';
import { applyLoraFamily } from '../lora/model.ts';
import type { QloraConfig } from './config.ts';
import { quantizeBase } from './layer.ts';

export const QLORA_PREFIX = 'qlora';

export function applyQlora(host: PeftHost, c: QloraConfig, seed: number): PeftModel {
  return applyLoraFamily(host, c, { methodName: 'qlora', prefix: QLORA_PREFIX, seed, prepareBase: (b) => quantizeBase(b, c) });
}
