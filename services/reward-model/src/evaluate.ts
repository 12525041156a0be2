// EvaluateRewardModel: pairwise accuracy of a reward model (folder or model-store version, loaded through the
// scorer's cache) on held-out preference pairs (file / file:// / labeling:// URI), TRL's strict accuracy
// (score(chosen) > score(rejected)) and the mean margin. Runs on the service's event loop: at most 20,000 pairs.
import { evaluateRewardModel } from '@tuneloop/objectives';
import type { EvaluateRewardModelRequest, EvaluateRewardModelResponse } from '@tuneloop/proto';
import { ResourceExhaustedError } from '@tuneloop/service-kit';
import { checkPairs, readPairs } from './job-spec.ts';
import type { RewardScorer } from './scorer.ts';

export const MAX_EVAL_PAIRS = 20_000;

export async function evaluateRequest(home: string, scorer: RewardScorer, req: EvaluateRewardModelRequest): Promise<EvaluateRewardModelResponse> {
  const { pairs, label } = await readPairs(home, req.dataset?.uri ?? '', 'dataset.uri');
  if (pairs.length > MAX_EVAL_PAIRS) throw new ResourceExhaustedError(`dataset: ${label} holds ${pairs.length} pairs, above the limit of ${MAX_EVAL_PAIRS} per call`);
  const { rm, tokenizer } = await scorer.model(req.rewardModel);
  checkPairs(tokenizer, pairs, label, 'dataset', rm.trunk.config.maxPositionEmbeddings);
  const e = evaluateRewardModel(rm, tokenizer, pairs);
  return { accuracy: e.accuracy, pairs: e.count, meanMargin: e.meanMargin };
}
