// @tuneloop/objectives: pure loss functions over tfjs tensors (SFT, Bradley-Terry, DPO family,
// ORPO, SimPO, KTO, GRPO, PPO) and the registry that names them; metrics use TRL's names.
export { registerObjective, getObjective, listObjectives, meanOf } from './registry.ts';
export type { ObjectiveDefinition, ObjectiveKind } from './registry.ts';
export { ObjectiveInputError } from './util/errors.ts';
export { sequenceSum, sequenceMean, maskedMean, detach, logSigmoid } from './util/tensor.ts';
export { sftLoss } from './sft/index.ts';
export type { SftLossInput, SftLossOutput } from './sft/index.ts';
export { bradleyTerryLoss } from './bradley-terry/index.ts';
export type { BradleyTerryInput, BradleyTerryOutput } from './bradley-terry/index.ts';
export { dpoLoss, DPO_LOSS_TYPES } from './dpo/index.ts';
export type { DpoLossInput, DpoLossOutput, DpoLossType } from './dpo/index.ts';
export { orpoLoss } from './orpo/index.ts';
export type { OrpoLossInput, OrpoLossOutput } from './orpo/index.ts';
export { simpoLoss } from './simpo/index.ts';
export type { SimpoLossInput, SimpoLossOutput } from './simpo/index.ts';
export { ktoLoss } from './kto/index.ts';
export type { KtoLossInput, KtoLossOutput } from './kto/index.ts';
export { grpoAdvantages, grpoLoss, maskTruncatedCompletions, GRPO_LOSS_TYPES, GRPO_SCALE_REWARDS, GRPO_STD_EPS } from './grpo/index.ts';
export type { GrpoAdvantagesInput, GrpoScaleRewards, GrpoLossInput, GrpoLossOutput, GrpoLossType } from './grpo/index.ts';
export { gae, whiten, WHITEN_EPS, ppoLoss, ppoRewards, KL_ESTIMATORS, AdaptiveKlController, FixedKlController } from './ppo/index.ts';
export type { GaeInput, GaeOutput, PpoLossInput, PpoLossOutput, PpoRewardsInput, PpoRewardsOutput, KlEstimator, KlController } from './ppo/index.ts';
