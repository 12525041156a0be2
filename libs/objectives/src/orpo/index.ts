// ORPO objective; registered as 'orpo'.
import { meanOf, registerObjective } from '../registry.ts';
import { orpoLoss, type OrpoLossInput, type OrpoLossOutput } from './loss.ts';

export { orpoLoss, type OrpoLossInput, type OrpoLossOutput };

registerObjective<OrpoLossInput, OrpoLossOutput>({
  name: 'orpo',
  kind: 'preference',
  reference: 'Hong et al. 2024, ORPO, Eq. 6-7',
  loss: orpoLoss,
  metrics: (o) => ({
    loss: meanOf(o.loss),
    nll_loss: meanOf(o.nllLoss),
    log_odds_ratio: meanOf(o.logOddsRatio),
    log_odds_chosen: meanOf(o.logOddsChosen),
    'rewards/chosen': meanOf(o.chosenRewards),
    'rewards/rejected': meanOf(o.rejectedRewards),
    'rewards/accuracies': meanOf(o.rewardAccuracy),
    'rewards/margins': meanOf(o.chosenRewards) - meanOf(o.rejectedRewards),
    'logps/chosen': meanOf(o.chosenLogps),
    'logps/rejected': meanOf(o.rejectedLogps),
  }),
});
