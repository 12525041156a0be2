// DoRA (Liu et al. 2024): registry entry. Files are PEFT LoRA files with use_dora and lora_magnitude_vector.
import { registerPeftMethod } from '../../core/registry.ts';
import { adapterStateDict, loadAdapterStateDict } from '../../format/adapter-state.ts';
import { loraAdapterConfig, loraFieldsFromAdapterConfig } from '../lora/config.ts';
import { parseDoraConfig, type DoraConfig } from './config.ts';
import { applyDora, doraPlan, DORA_PREFIX } from './model.ts';

registerPeftMethod<DoraConfig>({
  name: 'dora',
  prefix: DORA_PREFIX,
  description: 'Weight-decomposed LoRA: trained magnitude m, direction W + s B A normalised per output',
  peftType: 'LORA',
  mergeable: true,
  parseConfig: parseDoraConfig,
  cliConfig: ({ rank, targets }) => parseDoraConfig({ ...(rank !== undefined && { r: rank }), ...(targets && { target_modules: targets }) }),
  apply: (host, config, opts) => applyDora(host, config, opts?.seed ?? 0),
  plan: doraPlan,
  adapterConfig: (c, { baseModel, modules }) => loraAdapterConfig(c, baseModel, modules, true),
  recognises: (j) => j.peft_type === 'LORA' && j.use_dora === true,
  fromAdapterConfig: loraFieldsFromAdapterConfig,
  stateDict: adapterStateDict,
  loadStateDict: (m, t) => loadAdapterStateDict(m, t),
});
