// Partial fine-tuning (freeze most of the model, train a chosen set): registry entry. Files are the
// HF-named weights of the units that trained.
import { registerPeftMethod } from '../../core/registry.ts';
import { loadUnitsStateDict, unitsStateDict } from '../full/model.ts';
import { parsePartialConfig, PARTIAL_FIELDS, type PartialConfig } from './config.ts';
import { applyPartial, partialPlan, partialRuleForHost } from './model.ts';

registerPeftMethod<PartialConfig>({
  name: 'partial',
  prefix: 'partial',
  description: 'Only the top k blocks, the head and/or modules matched by name train; the rest is frozen',
  peftType: null,
  mergeable: false,
  parseConfig: parsePartialConfig,
  cliConfig: ({ rank, targets }) => {
    if (rank !== undefined) throw new Error('rank: partial fine-tuning has no rank (use --targets or a config)');
    return parsePartialConfig(targets ? { modules: targets, top_k_blocks: 0, head: false } : {});
  },
  apply: (host, config) => applyPartial(host, config),
  plan: partialPlan,
  adapterConfig: (c, { baseModel }) => ({ tuneloop_method: 'partial', base_model_name_or_path: baseModel, ...c }),
  recognises: (j) => j.tuneloop_method === 'partial',
  fromAdapterConfig: (j) => parsePartialConfig(Object.fromEntries(PARTIAL_FIELDS.filter((f) => j[f] !== undefined).map((f) => [f, j[f]]))),
  stateDict: (m) => unitsStateDict(m, partialRuleForHost(m.host, m.config as unknown as PartialConfig)),
  loadStateDict: (m, t) => loadUnitsStateDict(m, partialRuleForHost(m.host, m.config as unknown as PartialConfig), t),
});
