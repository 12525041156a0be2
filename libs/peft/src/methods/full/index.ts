// Full fine-tuning (every weight trains; the reference point): registry entry. Files are HF-named
// weights of the trained model (no adapter_config.json peft_type).
import { registerPeftMethod } from '../../core/registry.ts';
import { parseFullConfig, type FullConfig } from './config.ts';
import { applyFull, loadUnitsStateDict, unitPlan, unitsStateDict } from './model.ts';

const all = () => true;

registerPeftMethod<FullConfig>({
  name: 'full',
  prefix: 'full',
  description: 'Every weight trains (the quality reference; costly in memory)',
  peftType: null,
  mergeable: false,
  parseConfig: parseFullConfig,
  cliConfig: ({ rank }) => {
    if (rank !== undefined) throw new Error('rank: full fine-tuning has no rank');
    return {};
  },
  apply: (host) => applyFull(host),
  plan: (shapes) => unitPlan(shapes, all),
  adapterConfig: (_c, { baseModel }) => ({ tuneloop_method: 'full', base_model_name_or_path: baseModel }),
  recognises: (j) => j.tuneloop_method === 'full',
  fromAdapterConfig: () => ({}),
  stateDict: (m) => unitsStateDict(m, all),
  loadStateDict: (m, t) => loadUnitsStateDict(m, all, t),
});
