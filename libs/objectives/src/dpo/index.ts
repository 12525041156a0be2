// DPO family objective (sigmoid / hinge / ipo / robust); registered as 'dpo'.
import { meanOf, registerObjective } from '../registry.ts';
import { DPO_LOSS_TYPES, dpoLoss, type DpoLossInput, type DpoLossOutput, type DpoLossType } from './loss.ts';

export { DPO_LOSS_TYPES, dpoLoss, type DpoLossInput, type DpoLossOutput, type DpoLossType };

registerObjective<DpoLossInput, DpoLossOutput>({
  name: 'dpo',
  kind: 'preference',
  reference: 'Rafailov et al. 2023 Eq. 7; IPO Azar et al. 2023 Eq. 17; rDPO Chowdhury et al. 2024 Eq. 8; SLiC hinge',
  loss: dpoLoss,
  metrics: (o) => ({
    loss: meanOf(o.loss),
    'rewards/chosen': meanOf(o.chosenRewards),
    'rewards/rejected': meanOf(o.rejectedRewards),
    'rewards/accuracies': meanOf(o.rewardAccuracy),
    'rewards/margins': meanOf(o.rewardMargins),
    'logps/chosen': meanOf(o.chosenLogps),
    'logps/rejected': meanOf(o.rejectedLogps),
  }),
});
