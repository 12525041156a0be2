// GRPO objective (advantages + clipped surrogate loss); registered as 'grpo'.
import { meanOf, registerObjective } from '../registry.ts';
import { GRPO_SCALE_REWARDS, GRPO_STD_EPS, grpoAdvantages, type GrpoAdvantagesInput, type GrpoScaleRewards } from './advantages.ts';
import { maskTruncatedCompletions } from './mask-truncated.ts';
import { GRPO_LOSS_TYPES, grpoLoss, type GrpoLossInput, type GrpoLossOutput, type GrpoLossType } from './loss.ts';

export { GRPO_SCALE_REWARDS, GRPO_STD_EPS, grpoAdvantages, type GrpoAdvantagesInput, type GrpoScaleRewards };
export { maskTruncatedCompletions };
export { GRPO_LOSS_TYPES, grpoLoss, type GrpoLossInput, type GrpoLossOutput, type GrpoLossType };

registerObjective<GrpoLossInput, GrpoLossOutput>({
  name: 'grpo',
  kind: 'rl',
  reference: 'Shao et al. 2024 (DeepSeekMath) Eq. 3; DAPO (Yu et al. 2025) Eq. 8, 10; Dr. GRPO (Liu et al. 2025) Eq. 4',
  loss: grpoLoss,
  metrics: (o) => ({
    loss: meanOf(o.loss),
    kl: meanOf(o.kl),
    clip_ratio: meanOf(o.clipRatio),
    'clip_ratio/region_mean': meanOf(o.clipRatio),
    'clip_ratio/low_mean': meanOf(o.lowClipRatio),
    'clip_ratio/high_mean': meanOf(o.highClipRatio),
  }),
});
