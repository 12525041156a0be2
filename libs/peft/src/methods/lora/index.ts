// LoRA (Hu et al. 2021, with rsLoRA scaling as an option): registry entry.
import { registerPeftMethod } from '../../core/registry.ts';
import { adapterStateDict, loadAdapterStateDict } from '../../format/adapter-state.ts';
import { loraAdapterConfig, loraFieldsFromAdapterConfig, parseLoraConfig, type LoraConfig } from './config.ts';
import { applyLoraFamily, loraPlan } from './model.ts';

registerPeftMethod<LoraConfig>({
  name: 'lora',
  prefix: 'lora',
  description: 'Low-rank adapters A [r, in], B [out, r] on frozen linears; delta W = (alpha/r) B A',
  peftType: 'LORA',
  mergeable: true,
  parseConfig: parseLoraConfig,
  cliConfig: ({ rank, targets }) => parseLoraConfig({ ...(rank !== undefined && { r: rank }), ...(targets && { target_modules: targets }) }),
  apply: (host, config, opts) => applyLoraFamily(host, config, { methodName: 'lora', prefix: 'lora', seed: opts?.seed ?? 0 }),
  plan: loraPlan,
  adapterConfig: (c, { baseModel, modules }) => loraAdapterConfig(c, baseModel, modules, false),
  recognises: (j) => j.peft_type === 'LORA' && j.use_dora !== true,
  stateDict: adapterStateDict,
  loadStateDict: (m, t) => loadAdapterStateDict(m, t),
  fromAdapterConfig: loraFieldsFromAdapterConfig,
});
