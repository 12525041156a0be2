// gRPC test helpers for the reward-model service: promisified unary calls and collecting a WatchRewardJob stream.
import { credentials, type ServiceError } from '@grpc/grpc-js';
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

export function rmClient(target: string): RewardModelServiceClient {
  return new RewardModelServiceClient(target, credentials.createInsecure());
}

type Cb<R> = (err: ServiceError | null, res: R) => void;
const unary = <R>(start: (cb: Cb<R>) => unknown) => new Promise<R>((resolve, reject) => start((err, res) => (err ? reject(err) : resolve(res))));

export function rmApi(c: RewardModelServiceClient) {
  return {
    start: (req: StartRewardTrainingRequest) => unary<StartRewardTrainingResponse>((cb) => c.startRewardTraining(req, cb)),
    get: (jobId: string) => unary<GetRewardJobResponse>((cb) => c.getRewardJob({ jobId }, cb)),
    cancel: (jobId: string) => unary<CancelRewardJobResponse>((cb) => c.cancelRewardJob({ jobId }, cb)),
    score: (req: ScoreRequest) => unary<ScoreResponse>((cb) => c.score(req, cb)),
    evaluate: (req: EvaluateRewardModelRequest) => unary<EvaluateRewardModelResponse>((cb) => c.evaluateRewardModel(req, cb)),
  };
}

export async function errorOf(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error('expected the call to fail');
}

export async function watchJob(client: RewardModelServiceClient, jobId: string, onEvent: (e: JobEvent) => void | Promise<void> = () => {}): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  for await (const msg of client.watchRewardJob({ jobId }) as AsyncIterable<{ event?: JobEvent }>) {
    if (!msg.event) continue;
    events.push(msg.event);
    await onEvent(msg.event);
  }
  return events;
}

export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
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
