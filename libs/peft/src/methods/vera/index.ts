// VeRA (Kopiczko et al. 2024, "Vector-based Random Matrix Adaptation"): registry entry.
import { registerPeftMethod } from '../../core/registry.ts';
import { parseVeraConfig, veraAdapterConfig, veraFromAdapterConfig, type VeraConfig } from './config.ts';
import { applyVera, loadVeraStateDict, veraPlan, veraStateDict, VERA_PREFIX } from './model.ts';

registerPeftMethod<VeraConfig>({
  name: 'vera',
  prefix: VERA_PREFIX,
  description: 'Shared frozen random A, B (from a seed); per layer only vectors d [r] and b [out] train',
  peftType: 'VERA',
  mergeable: true,
  parseConfig: parseVeraConfig,
  cliConfig: ({ rank, targets }) => parseVeraConfig({ ...(rank !== undefined && { r: rank }), ...(targets && { target_modules: targets }) }),
  apply: (host, config, opts) => applyVera(host, config, opts?.seed ?? 0),
  plan: veraPlan,
  adapterConfig: (c, { baseModel, modules }) => veraAdapterConfig(c, baseModel, modules),
  recognises: (j) => j.peft_type === 'VERA',
  fromAdapterConfig: veraFromAdapterConfig,
  stateDict: veraStateDict,
  loadStateDict: loadVeraStateDict,
});
