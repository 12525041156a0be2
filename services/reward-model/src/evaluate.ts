// EvaluateRewardModel: pairwise accuracy of a reward model (folder or model-store version, loaded through the
// scorer's cache) on held-out preference pairs (file / file:// / labeling:// URI), TRL's strict accuracy
// (score(chosen) > score(rejected)) and the mean margin. Scored in batches of 32 pairs (as evaluateRewardModel
// of @tuneloop/objectives: the same numbers) on the service's event loop, yielding between batches so health
// checks and other calls are answered meanwhile; at most 20,000 pairs per call.
import * as tf from '@tensorflow/tfjs-core';
import { encodePairs, packSequences, type PreferenceExample } from '@tuneloop/objectives';
import type { EvaluateRewardModelRequest, EvaluateRewardModelResponse } from '@tuneloop/proto';
import { ResourceExhaustedError } from '@tuneloop/service-kit';
import { checkPairs, readPairs } from './job-spec.ts';
import type { RewardScorer } from './scorer.ts';

export const MAX_EVAL_PAIRS = 20_000;
const BATCH = 32;

export async function evaluateRequest(home: string, scorer: RewardScorer, req: EvaluateRewardModelRequest): Promise<EvaluateRewardModelResponse> {
  const { pairs, label } = await readPairs(home, req.dataset?.uri ?? '', 'dataset.uri');
  if (pairs.length > MAX_EVAL_PAIRS) throw new ResourceExhaustedError(`dataset: ${label} holds ${pairs.length} pairs, above the limit of ${MAX_EVAL_PAIRS} per call`);
  const { rm, tokenizer } = await scorer.model(req.rewardModel);
  checkPairs(tokenizer, pairs, label, 'dataset', rm.trunk.config.maxPositionEmbeddings);
  const enc = encodePairs(tokenizer, pairs as PreferenceExample[], { field: 'dataset' });
  const pad = tokenizer.padTokenId ?? 0;
  let right = 0;
  let margin = 0;
  for (let i = 0; i < enc.length; i += BATCH) {
    if (i > 0) await new Promise((r) => setImmediate(r));
    const batch = enc.slice(i, i + BATCH);
    const seqs = [...batch.map((p) => [...p.prompt, ...p.chosen]), ...batch.map((p) => [...p.prompt, ...p.rejected])];
    const s = tf.tidy(() => rm.scores(packSequences(seqs, pad)));
    const v = s.dataSync();
    s.dispose();
    for (let j = 0; j < batch.length; j++) {
      const d = v[j] - v[j + batch.length];
      if (d > 0) right++;
      margin += d;
    }
  }
  return { accuracy: right / enc.length, pairs: enc.length, meanMargin: margin / enc.length };
}
