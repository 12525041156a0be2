// AdaLoRA (Zhang et al. 2023, "Adaptive Budget Allocation for Parameter-Efficient Fine-Tuning"): registry entry.
import { registerPeftMethod } from '../../core/registry.ts';
import { adaloraAdapterConfig, adaloraFromAdapterConfig, parseAdaLoraConfig, type AdaLoraConfig } from './config.ts';
import { ADALORA_PREFIX, adaloraPlan, adaloraStateDict, applyAdaLora, loadAdaLoraStateDict } from './model.ts';

registerPeftMethod<AdaLoraConfig>({
  name: 'adalora',
  prefix: ADALORA_PREFIX,
  description: 'SVD-form LoRA P diag(lambda) Q; importance-driven rank budget from init_r to target_r',
  peftType: 'ADALORA',
  mergeable: true,
  parseConfig: parseAdaLoraConfig,
  cliConfig: ({ rank, targets }) =>
    parseAdaLoraConfig({
      total_step: 1000,
      ...(rank !== undefined && { init_r: rank, target_r: Math.min(8, rank) }),
      ...(targets && { target_modules: targets }),
    }),
  apply: (host, config, opts) => applyAdaLora(host, config, opts?.seed ?? 0),
  plan: adaloraPlan,
  adapterConfig: (c, { baseModel, modules }) => adaloraAdapterConfig(c, baseModel, modules),
  recognises: (j) => j.peft_type === 'ADALORA',
  fromAdapterConfig: adaloraFromAdapterConfig,
  stateDict: adaloraStateDict,
  loadStateDict: loadAdaLoraStateDict,
});
