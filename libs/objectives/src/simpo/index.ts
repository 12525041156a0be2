// SimPO objective (optionally CPO-SimPO); registered as 'simpo'.
import { meanOf, registerObjective } from '../registry.ts';
import { simpoLoss, type SimpoLossInput, type SimpoLossOutput } from './loss.ts';

export { simpoLoss, type SimpoLossInput, type SimpoLossOutput };

registerObjective<SimpoLossInput, SimpoLossOutput>({
  name: 'simpo',
  kind: 'preference',
  reference: 'Meng et al. 2024, SimPO, Eq. 6; CPO NLL term: Xu et al. 2024, Eq. 5',
  loss: simpoLoss,
  metrics: (o) => ({
    loss: meanOf(o.loss),
    nll_loss: meanOf(o.nllLoss),
    'rewards/chosen': meanOf(o.chosenRewards),
    'rewards/rejected': meanOf(o.rejectedRewards),
    'rewards/accuracies': meanOf(o.rewardAccuracy),
    'rewards/margins': meanOf(o.chosenRewards) - meanOf(o.rejectedRewards),
    'logps/chosen': meanOf(o.chosenLogps),
    'logps/rejected': meanOf(o.rejectedLogps),
  }),
});
