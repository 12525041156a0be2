// gRPC test helpers for the reward-model service: promisified unary calls and collecting a WatchRewardJob stream.
import { credentials } from '@grpc/grpc-js';
import { createRng } from '@tuneloop/engine';
import {
  RewardModelServiceClient,
  type CancelRewardJobResponse,
  type EvaluateRewardModelRequest,
  type EvaluateRewardModelResponse,
  type GetRewardJobResponse,
  type JobEvent,
  type ScoreRequest,
  type ScoreResponse,
  type StartRewardTrainingRequest,
  type StartRewardTrainingResponse,
} from '@tuneloop/proto';
import { collectEvents, unaryCall } from '@tuneloop/service-kit';

export { errorOf, until } from '@tuneloop/service-kit';

export function rmClient(target: string): RewardModelServiceClient {
  return new RewardModelServiceClient(target, credentials.createInsecure());
}

export function rmApi(c: RewardModelServiceClient) {
  return {
    start: (req: StartRewardTrainingRequest) => unaryCall<StartRewardTrainingResponse>((cb) => c.startRewardTraining(req, cb)),
    get: (jobId: string) => unaryCall<GetRewardJobResponse>((cb) => c.getRewardJob({ jobId }, cb)),
    cancel: (jobId: string) => unaryCall<CancelRewardJobResponse>((cb) => c.cancelRewardJob({ jobId }, cb)),
    score: (req: ScoreRequest) => unaryCall<ScoreResponse>((cb) => c.score(req, cb)),
    evaluate: (req: EvaluateRewardModelRequest) => unaryCall<EvaluateRewardModelResponse>((cb) => c.evaluateRewardModel(req, cb)),
  };
}

export async function watchJob(client: RewardModelServiceClient, jobId: string, onEvent: (e: JobEvent) => void | Promise<void> = () => {}): Promise<JobEvent[]> {
  return collectEvents(client.watchRewardJob({ jobId }), onEvent);
}

/** `n` seeded single-digit additions as TRL preference JSONL: the correct sum is preferred over a wrong one (same format). */
export function additionPairs(n: number, seed = 1): string {
  const r = createRng(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = r.int(5);
    const b = r.int(5);
    lines.push(JSON.stringify({ prompt: `${a}+${b}=`, chosen: String(a + b), rejected: String(a + b + 1 + r.int(3)) }));
  }
  return lines.join('\n') + '\n';
}
