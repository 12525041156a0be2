// The best-of-N job (rejection sampling, RSO-style) as a pipeline of the other services, in the job's thread:
//   1. the rollout service samples N completions per prompt and scores them with the job's verifier
//      (GenerateGroups, on its worker pool: more rollout replicas, faster sampling);
//   2. each prompt's best completion among those that ended with EOS and are not empty (libs/rl's rule) is a winner
//      when it reaches the threshold, if one is set; the winners go to the model store as a TRL prompt-completion dataset version `<jobId>-winners@1`;
//   3. the adapter trainer fine-tunes on them: an SFT job with the best-of-N job's own base, init adapter, method and
//      training settings, idempotency key `<jobId>/sft`, whose progress is relayed as this job's steps; the adapter
//      trainer stores the adapter (the optimizer's finish hook only reports it).
// Every stage survives a redelivery: the dataset version is reused when it is already stored, and the idempotency
// key attaches the second attempt to the same SFT job (which resumes from its own checkpoint).
// Held-out greedy pass@1 (options.eval_dataset) is measured here before and after, on the base (+ init adapter) and
// on base + the new adapter, with the verifier loaded here (a reward-model verifier loads the reward model).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { SFT_ID_PREFIX } from '@tuneloop/adapter-trainer';
import { loadModel } from '@tuneloop/files';
import { describeDataset, idempotentJobId, pushDataset, readAdapterFolder, resolveAdapter, resolveModel, withStoreRetry, type JobThreadInput, type JobThreadPost } from '@tuneloop/jobs';
import {
  AdapterTrainerServiceClient, DatasetFormat, FinishReason, JobStatus, RolloutServiceClient, StartTrainingRequest,
  type GenerateGroupsResponse, type Job, type JobEvent,
} from '@tuneloop/proto';
import { loadAdapter } from '@tuneloop/peft';
import { greedyPassAt1, isCandidate, type Rollout, type RlPrompt } from '@tuneloop/rl';
import { InvalidArgumentError, UnavailableError } from '@tuneloop/service-kit';
import type { OptimizeJobSpec } from '../job-spec.ts';
import { readPrompts, resolveRewardModel } from '../prepare.ts';
import { jobVerifier, loadRewardModel } from './rl-run.ts';

/** Prompts per GenerateGroups call, and calls in flight (so that several rollout workers sample at once). */
const PROMPTS_PER_CALL = 16;
const CALLS_IN_FLIGHT = 4;
const CALL_MS = 10 * 60_000;
/** The winners file inside the dataset version. */
export const WINNERS_FILE = 'winners.jsonl';

export const winnersDatasetName = (jobId: string) => `${jobId}-winners`;
export const sftIdempotencyKey = (jobId: string) => `${jobId}/sft`;
/** The adapter trainer's id of a best-of-N job's SFT job (its idempotency key decides it). */
export const sftJobIdOf = (jobId: string) => idempotentJobId(SFT_ID_PREFIX, sftIdempotencyKey(jobId));

export interface BestOfNOutcome {
  /** the adapter as the adapter trainer stored it */
  output: { name: string; version: string };
  sftJobId: string;
  totalSteps: number;
  metrics: Record<string, number>;
}

export function rpcError(what: string, err: unknown): Error {
  const e = err as Partial<ServiceError>;
  if (e.code === status.INVALID_ARGUMENT) return new InvalidArgumentError('spec', `${what}: ${e.details}`);
  if (e.code === status.UNAVAILABLE || e.code === status.DEADLINE_EXCEEDED) return new UnavailableError(`${what}: ${status[e.code]}: ${e.details}`);
  return new Error(`${what}: ${typeof e.code === 'number' ? `${status[e.code]}: ${e.details}` : String((err as Error)?.message ?? err)}`);
}

function unary<Res>(what: string, start: (md: Metadata, opts: { deadline: Date }, cb: (e: ServiceError | null, r: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => start(new Metadata(), { deadline: new Date(Date.now() + CALL_MS) }, (e, r) => (e ? reject(rpcError(what, e)) : resolve(r))));
}

const FINISH: Record<number, Rollout['finishReason']> = { [FinishReason.STOP]: 'eos', [FinishReason.LENGTH]: 'length', [FinishReason.STOP_STRING]: 'stop' };

/** A rollout service completion's finish reason as @tuneloop/rl names it. */
export const finishOf = (reason: FinishReason): Rollout['finishReason'] => FINISH[reason] ?? 'length';

/** The verifier spec as the rollout service reads it (a reward-model verifier names its model). */
export function verifierJson(spec: OptimizeJobSpec): string {
  const v = { ...spec.verifier };
  if (v.type === 'reward_model' && spec.verifierRewardModel) {
    const m = spec.verifierRewardModel;
    v.model = m.version ? `${m.name}@${m.version}` : m.name;
  }
  return JSON.stringify(v);
}

export interface Winners {
  rows: { prompt: string; completion: string }[];
  meanBestScore: number;
  meanScore: number;
}

/** Stage 1: sample and score through the rollout service; the best EOS-ended completion per prompt wins. */
export async function sampleWinners(rollout: RolloutServiceClient, spec: OptimizeJobSpec, prompts: RlPrompt[], log: (m: string) => void): Promise<Winners> {
  const b = spec.bestOfN!;
  const policy = { base: spec.base, adapter: spec.initAdapter };
  const chunks: { start: number; part: RlPrompt[] }[] = [];
  for (let i = 0; i < prompts.length; i += PROMPTS_PER_CALL) chunks.push({ start: i, part: prompts.slice(i, i + PROMPTS_PER_CALL) });
  const results: GenerateGroupsResponse[] = new Array(chunks.length);
  let next = 0;
  let sampled = 0;
  const lane = async () => {
    while (next < chunks.length) {
      const k = next++;
      const { start, part } = chunks[k];
      results[k] = await unary<GenerateGroupsResponse>(`rollout GenerateGroups (prompts ${start + 1}-${start + part.length})`, (md, o, cb) =>
        rollout.generateGroups(
          {
            policy, prompts: part.map((p) => ({ prompt: p.prompt, reference: p.reference ?? '' })), groupSize: b.n,
            // completion j of a call uses seed + j: the seeds of the whole job are training.seed + prompt index * n + j
            sampling: { maxNewTokens: b.maxNewTokens ?? 8, temperature: b.temperature ?? 1, topP: 1, topK: 0, seed: spec.training.seed + start * b.n, stop: [] },
            verifierJson: verifierJson(spec),
          },
          md, o, cb,
        ),
      );
      sampled += part.length;
      log(`sampled ${sampled} of ${prompts.length} prompts x ${b.n}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CALLS_IN_FLIGHT, chunks.length) }, lane));
  const rows: Winners['rows'] = [];
  let bestSum = 0;
  let allSum = 0;
  results.forEach((res, k) => {
    res.groups.forEach((g, j) => {
      if (g.completions.length !== b.n) throw new Error(`rollout returned ${g.completions.length} completions for a prompt, asked for ${b.n}`);
      let best = -1;
      let top = -Infinity;
      g.completions.forEach((c, i) => {
        allSum += c.reward;
        top = Math.max(top, c.reward);
        // the candidates: completions that ended with EOS and say something (libs/rl's isCandidate)
        if (isCandidate({ finishReason: finishOf(c.finishReason), text: c.text }) && (best < 0 || c.reward > g.completions[best].reward)) best = i;
      });
      bestSum += top;
      if (best >= 0 && (b.threshold === undefined || g.completions[best].reward >= b.threshold)) rows.push({ prompt: chunks[k].part[j].prompt, completion: g.completions[best].text });
    });
  });
  return { rows, meanBestScore: bestSum / prompts.length, meanScore: allSum / (prompts.length * b.n) };
}

/** The SFT request of stage 3: the job's own model and training settings on the winners. */
export function sftRequestOf(spec: OptimizeJobSpec, jobId: string, datasetUri: string): StartTrainingRequest {
  const t = spec.training;
  return StartTrainingRequest.fromPartial({
    idempotencyKey: sftIdempotencyKey(jobId),
    spec: {
      baseModel: spec.base,
      ...(spec.initAdapter ? { initAdapter: spec.initAdapter } : {}),
      outputName: spec.outputName,
      dataset: { uri: datasetUri, format: DatasetFormat.PROMPT_COMPLETION },
      training: {
        learningRate: t.lr, maxSteps: t.maxSteps, batchSize: t.batchSize, seed: t.seed, weightDecay: t.weightDecay, maxGradNorm: t.maxGradNorm,
        warmupSteps: t.warmupSteps >= 0 ? t.warmupSteps : Math.round(0.1 * t.maxSteps), lrScheduler: 'constant',
        ...(t.maxLength > 0 ? { maxSeqLength: t.maxLength } : {}),
      },
      objective: { $case: 'sft', value: {} },
    },
    options: {
      method: spec.method,
      ...(spec.initAdapter ? {} : { methodConfigJson: JSON.stringify(spec.sftMethodConfig ?? {}) }),
      checkpointEvery: spec.checkpointEvery, overlong: 'truncate',
    },
  });
}

/** Greedy pass@1 on the eval prompts of base (+ adapter folder), with the job's verifier (loaded here). */
async function evalPassAt1(spec: OptimizeJobSpec, home: string, storeTarget: () => string | undefined, evalPrompts: RlPrompt[], adapter?: { name: string; version: string }) {
  const baseDir = (await withStoreRetry(() => resolveModel(home, spec.base, storeTarget, 'spec.base_model'))).dir;
  const { model, tokenizer } = await loadModel(baseDir);
  if (!tokenizer) throw new Error(`${baseDir}: has no tokenizer`);
  let rm: Awaited<ReturnType<typeof loadRewardModel>> | undefined;
  let unload = () => {};
  try {
    if (adapter) {
      const dir = (await withStoreRetry(() => resolveAdapter(home, adapter, storeTarget, 'adapter'))).dir;
      const pm = loadAdapter(model, await readAdapterFolder(dir), { seed: spec.training.seed });
      pm.setTraining(false);
      unload = () => pm.unload();
    }
    const rmRef = spec.verifierRewardModel;
    if (rmRef) rm = await loadRewardModel(await withStoreRetry(() => resolveRewardModel(home, rmRef, storeTarget)));
    return await greedyPassAt1(model, tokenizer, evalPrompts, jobVerifier(spec, rm), { maxNewTokens: spec.bestOfN?.maxNewTokens ?? 8 });
  } finally {
    unload();
    model.dispose();
    if (rm) {
      rm.rm.dispose();
      rm.trunk.dispose();
    }
  }
}

export async function runBestOfNPipeline(input: JobThreadInput<OptimizeJobSpec>, post: JobThreadPost): Promise<BestOfNOutcome> {
  const { spec, home, jobId } = input;
  const storeTarget = () => process.env.TUNELOOP_MODEL_STORE_ADDR || spec.storeTarget;
  const rolloutTarget = process.env.TUNELOOP_ROLLOUT_ADDR || spec.rolloutTarget;
  const trainerTarget = process.env.TUNELOOP_ADAPTER_TRAINER_ADDR || spec.trainerTarget;
  if (!rolloutTarget || !trainerTarget || !storeTarget()) throw new Error('best-of-N needs the rollout service, the adapter trainer and the model store (TUNELOOP_ROLLOUT_ADDR, TUNELOOP_ADAPTER_TRAINER_ADDR, TUNELOOP_MODEL_STORE_ADDR)');
  const log = (message: string) => post({ type: 'log', message });
  const prompts: RlPrompt[] = (await readPrompts(home, spec.dataset.uri, 'spec.dataset.uri')).map(({ prompt, reference }) => ({ prompt, reference }));
  const evalPrompts: RlPrompt[] = spec.evalDataset ? (await readPrompts(home, spec.evalDataset.uri, 'options.eval_dataset.uri')).map(({ prompt, reference }) => ({ prompt, reference })) : [];
  const totalSteps = spec.training.maxSteps;
  const rollout = new RolloutServiceClient(rolloutTarget, credentials.createInsecure());
  const trainer = new AdapterTrainerServiceClient(trainerTarget, credentials.createInsecure());
  try {
    const before = evalPrompts.length > 0 ? await evalPassAt1(spec, home, storeTarget, evalPrompts, spec.initAdapter) : undefined;
    post({ type: 'ready', totalSteps, resumedFrom: 0, metrics: { train_prompts: prompts.length, eval_prompts: evalPrompts.length, ...(before ? { eval_pass_at_1: before.passAt1, eval_reward: before.meanScore } : {}) } });

    // stages 1 and 2: the winners dataset (reused when an earlier attempt stored it)
    const dsName = winnersDatasetName(jobId);
    const stored = await describeDataset(storeTarget(), dsName, '1').then((d) => d, (e: ServiceError) => {
      if (e.code === status.NOT_FOUND) return undefined;
      throw rpcError(`model store: dataset ${dsName}@1`, e);
    });
    const metrics: Record<string, number> = {};
    if (stored) {
      log(`winners from an earlier attempt: dataset ${dsName}@1`);
    } else {
      const w = await sampleWinners(rollout, spec, prompts, log);
      Object.assign(metrics, { kept: w.rows.length, mean_best_score: w.meanBestScore, mean_score: w.meanScore });
      log(`best-of-${spec.bestOfN!.n}: ${w.rows.length} of ${prompts.length} prompts kept a winner (mean best score ${w.meanBestScore.toFixed(3)}, mean score ${w.meanScore.toFixed(3)})`);
      if (w.rows.length === 0) {
        throw new Error(`best-of-${spec.bestOfN!.n}: no prompt kept a winner (no non-empty completion ended with EOS${spec.bestOfN!.threshold !== undefined ? ` at score >= ${spec.bestOfN!.threshold}` : ''}); nothing to fine-tune on`);
      }
      const dir = path.join(path.dirname(input.checkpointDir), 'winners');
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, WINNERS_FILE), w.rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      await pushDataset(storeTarget(), { source: path.join(dir, WINNERS_FILE), name: dsName, version: '1', format: DatasetFormat.PROMPT_COMPLETION, description: `best-of-${spec.bestOfN!.n} winners of job ${jobId}` })
        .catch((e: ServiceError) => {
          if (e.code !== status.ALREADY_EXISTS) throw rpcError(`model store: pushing dataset ${dsName}@1`, e);
        });
    }

    // stage 3: the SFT job (the same job again on a redelivery), its steps relayed as ours
    const req = sftRequestOf(spec, jobId, `store://${dsName}@1/${WINNERS_FILE}`);
    const started = await unary<{ job?: Job }>('adapter trainer StartTraining', (md, o, cb) => trainer.startTraining(req, md, o, cb));
    const sftJobId = started.job!.jobId;
    log(`SFT on the winners: adapter-trainer job ${sftJobId}`);
    let relayed = 0;
    const stream = trainer.watchTrainingJob({ jobId: sftJobId });
    for await (const msg of stream as AsyncIterable<{ event?: JobEvent }>) {
      const e = msg.event;
      if (!e || e.step <= relayed || e.loss === 0) continue;
      relayed = e.step;
      post({ type: 'step', step: e.step, totalSteps, loss: e.loss, lr: e.learningRate, metrics: { ...e.metrics, ...(e.etaSeconds > 0 ? { sft_eta_seconds: e.etaSeconds } : {}) } });
    }
    const job = (await unary<{ job?: Job }>('adapter trainer GetTrainingJob', (md, o, cb) => trainer.getTrainingJob({ jobId: sftJobId }, md, o, cb))).job!;
    if (job.status !== JobStatus.SUCCEEDED) throw new Error(`the SFT job ${sftJobId} on the winners ended ${JobStatus[job.status] ?? job.status}${job.error ? `: ${job.error}` : ''}`);
    if (!job.output?.name) throw new Error(`the SFT job ${sftJobId} succeeded without an output adapter`);
    const output = { name: job.output.name, version: job.output.version };
    if (evalPrompts.length > 0) {
      const after = await evalPassAt1(spec, home, storeTarget, evalPrompts, output);
      Object.assign(metrics, { eval_pass_at_1: after.passAt1, eval_reward: after.meanScore });
    }
    const last = job.lastEvent;
    if (last && last.loss > 0) metrics.loss = last.loss;
    return { output, sftJobId, totalSteps, metrics };
  } finally {
    rollout.close();
    trainer.close();
  }
}
