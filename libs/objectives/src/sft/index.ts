// SFT objective: token-mean NLL over the completion mask; registered as 'sft'.
import { registerObjective } from '../registry.ts';
import { sftLoss, type SftLossInput, type SftLossOutput } from './loss.ts';

export { sftLoss, type SftLossInput, type SftLossOutput };

registerObjective<SftLossInput, SftLossOutput>({
  name: 'sft',
  kind: 'sft',
  reference: 'Token-level maximum likelihood (Radford et al. 2018, Eq. 1), completion-only as TRL SFTTrainer',
  loss: sftLoss,
  metrics: (o) => ({ loss: o.loss.dataSync()[0], num_tokens: o.numTokens.dataSync()[0] }),
});
