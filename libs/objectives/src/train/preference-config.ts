// Configuration of a preference-optimization run (DPO / IPO / ORPO / SimPO / KTO), its defaults (TRL's, and
// SimPO's paper setting beta 2, gamma 1) and its validation: bad values fail before any training.
import { DPO_LOSS_TYPES, type DpoLossType } from '../dpo/index.ts';
import { ObjectiveInputError } from '../util/errors.ts';
import { requireInteger, requireNonNegative, requireOneOf, requirePositive, requireRange } from '../util/validate.ts';

export const PREFERENCE_METHODS = ['dpo', 'ipo', 'orpo', 'simpo', 'kto'] as const;
export type PreferenceMethod = (typeof PREFERENCE_METHODS)[number];

export interface PreferenceTrainConfig {
  method: PreferenceMethod;
  lossType?: DpoLossType; // dpo only (default 'sigmoid'); method 'ipo' is dpo with lossType 'ipo'
  beta?: number; // > 0; default 0.1 (simpo 2)
  gamma?: number; // simpo's absolute target margin; default 1
  labelSmoothing?: number; // dpo sigmoid / robust, simpo
  cpoAlpha?: number; // simpo's NLL weight; default 0
  desirableWeight?: number; // kto; default 1
  undesirableWeight?: number; // kto; default 1
  steps: number;
  batchSize: number; // pairs (or kto examples) per step
  lr: number;
  seed: number;
  maxLength?: number; // tokens of prompt + response
  weightDecay?: number;
}

export interface ResolvedPreferenceConfig extends PreferenceTrainConfig {
  lossType: DpoLossType;
  beta: number;
  gamma: number;
}

/** Checks every field and fills the defaults; throws ObjectiveInputError naming the field. */
export function resolvePreferenceConfig(cfg: PreferenceTrainConfig): ResolvedPreferenceConfig {
  const method = requireOneOf('method', cfg.method, PREFERENCE_METHODS);
  if (cfg.lossType !== undefined && method !== 'dpo') throw new ObjectiveInputError('lossType', `applies to method 'dpo' only, got method '${method}'`);
  const lossType = method === 'ipo' ? 'ipo' : requireOneOf('lossType', cfg.lossType ?? 'sigmoid', DPO_LOSS_TYPES);
  const beta = requirePositive('beta', cfg.beta ?? (method === 'simpo' ? 2 : 0.1));
  const gamma = requireNonNegative('gamma', cfg.gamma ?? 1);
  if (cfg.labelSmoothing !== undefined) requireRange('labelSmoothing', cfg.labelSmoothing, 0, 0.5, true);
  if (cfg.cpoAlpha !== undefined) requireNonNegative('cpoAlpha', cfg.cpoAlpha);
  if (cfg.desirableWeight !== undefined) requirePositive('desirableWeight', cfg.desirableWeight);
  if (cfg.undesirableWeight !== undefined) requirePositive('undesirableWeight', cfg.undesirableWeight);
  requireInteger('steps', cfg.steps, 1);
  requireInteger('batchSize', cfg.batchSize, method === 'kto' ? 2 : 1);
  requirePositive('lr', cfg.lr);
  if (cfg.maxLength !== undefined) requireInteger('maxLength', cfg.maxLength, 2);
  if (!Number.isInteger(cfg.seed)) throw new ObjectiveInputError('seed', `must be an integer, got ${cfg.seed}`);
  return { ...cfg, method, lossType, beta, gamma };
}
