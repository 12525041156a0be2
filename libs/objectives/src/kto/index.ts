// KTO objective; registered as 'kto'.
import { meanOf, registerObjective } from '../registry.ts';
import { ktoLoss, type KtoLossInput, type KtoLossOutput } from './loss.ts';

export { ktoLoss, type KtoLossInput, type KtoLossOutput };

registerObjective<KtoLossInput, KtoLossOutput>({
  name: 'kto',
  kind: 'preference',
  reference: 'Ethayarajh et al. 2024, KTO, Eq. 8',
  loss: ktoLoss,
  metrics: (o) => {
    const chosen = meanOf(o.chosenRewards);
    const rejected = meanOf(o.rejectedRewards);
    return {
      loss: meanOf(o.loss),
      kl: meanOf(o.kl),
      'rewards/chosen': chosen,
      'rewards/rejected': rejected,
      'rewards/margins': chosen - rejected,
      'logps/chosen': meanOf(o.chosenLogps),
      'logps/rejected': meanOf(o.rejectedLogps),
      'count/chosen': o.chosenRewards.shape[0],
      'count/rejected': o.rejectedRewards.shape[0],
    };
  },
});
