// Bradley-Terry reward-model objective; registered as 'bradley_terry'.
import { registerObjective } from '../registry.ts';
import { bradleyTerryLoss, type BradleyTerryInput, type BradleyTerryOutput } from './loss.ts';

export { bradleyTerryLoss, type BradleyTerryInput, type BradleyTerryOutput };

registerObjective<BradleyTerryInput, BradleyTerryOutput>({
  name: 'bradley_terry',
  kind: 'reward',
  reference: 'Ouyang et al. 2022 Eq. 1; margin: Touvron et al. 2023 Eq. 2; centering: Eisenstein et al. 2023',
  loss: bradleyTerryLoss,
  metrics: (o) => ({
    loss: o.loss.dataSync()[0],
    accuracy: o.accuracy.dataSync()[0],
    margin: o.meanMargin.dataSync()[0],
  }),
});
