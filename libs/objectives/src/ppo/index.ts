// PPO / RLHF objective: GAE, whitening, per-token rewards, KL controllers and the clipped loss;
// registered as 'ppo'.
import { meanOf, registerObjective } from '../registry.ts';
import { gae, type GaeInput, type GaeOutput } from './gae.ts';
import { whiten, WHITEN_EPS } from './whiten.ts';
import { ppoLoss, type PpoLossInput, type PpoLossOutput } from './loss.ts';
import { KL_ESTIMATORS, ppoRewards, type KlEstimator, type PpoRewardsInput, type PpoRewardsOutput } from './rewards.ts';
import { AdaptiveKlController, FixedKlController, type KlController } from './kl-controller.ts';

export { gae, type GaeInput, type GaeOutput, whiten, WHITEN_EPS };
export { ppoLoss, type PpoLossInput, type PpoLossOutput };
export { KL_ESTIMATORS, ppoRewards, type KlEstimator, type PpoRewardsInput, type PpoRewardsOutput };
export { AdaptiveKlController, FixedKlController, type KlController };

registerObjective<PpoLossInput, PpoLossOutput>({
  name: 'ppo',
  kind: 'rl',
  reference: 'Schulman et al. 2017 Eq. 7, 9; GAE Schulman et al. 2016 Eq. 16; Ziegler et al. 2019 Eq. 2',
  loss: ppoLoss,
  metrics: (o) => ({
    loss: meanOf(o.loss),
    'loss/policy_avg': meanOf(o.pgLoss),
    'loss/value_avg': meanOf(o.vfLoss),
    'policy/clipfrac_avg': meanOf(o.pgClipfrac),
    'val/clipfrac_avg': meanOf(o.vfClipfrac),
    'policy/approxkl_avg': meanOf(o.approxKl),
  }),
});
