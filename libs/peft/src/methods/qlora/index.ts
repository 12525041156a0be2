// QLoRA (Dettmers et al. 2023): registry entry. Its files are PEFT LoRA files (peft_type LORA); merging
// dequantizes the packed base to float32 and each MergeReport says so.
import { registerPeftMethod } from '../../core/registry.ts';
import { adapterStateDict, loadAdapterStateDict } from '../../format/adapter-state.ts';
import { loraAdapterConfig, loraFieldsFromAdapterConfig } from '../lora/config.ts';
import { loraPlan } from '../lora/model.ts';
import { parseQloraConfig, type QloraConfig } from './config.ts';
import { applyQlora, QLORA_PREFIX } from './model.ts';

registerPeftMethod<QloraConfig>({
  name: 'qlora',
  prefix: QLORA_PREFIX,
  description: 'LoRA over a base packed to 4-bit NF4 with double-quantized block scales',
  peftType: 'LORA',
  mergeable: true,
  parseConfig: parseQloraConfig,
  cliConfig: ({ rank, targets }) => parseQloraConfig({ ...(rank !== undefined && { r: rank }), ...(targets && { target_modules: targets }) }),
  apply: (host, config, opts) => applyQlora(host, config, opts?.seed ?? 0),
  plan: loraPlan,
  adapterConfig: (c, { baseModel, modules }) => loraAdapterConfig(c, baseModel, modules, false),
  // A QLoRA adapter file is a LoRA file; load it with { method: 'qlora' } to quantize the base.
  recognises: () => false,
  fromAdapterConfig: (j) => parseQloraConfig({ ...loraFieldsFromAdapterConfig(j) }),
  stateDict: adapterStateDict,
  loadStateDict: (m, t) => loadAdapterStateDict(m, t),
});
