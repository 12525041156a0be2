// `tuneloop reward train|eval|score|watch|cancel|ls`: a Bradley-Terry reward model (transformer trunk + scalar head,
// LoRA or full) trained on TRL preference JSONL. By default through the reward-model service (TUNELOOP_GRPC_ADDR
// or --addr): `train` submits a job (--watch follows it live), `eval` / `score` call EvaluateRewardModel / Score
// on a model-store ref (name@version, as jobs store it) or a folder. `--local` runs in this process instead and
// writes a Hugging Face model folder (the merged trunk) plus score.safetensors (`score.weight`) to --out.
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job, JobEvent, JobSpec, RewardModelServiceClient } from '@tuneloop/proto';
import { CliError, emit, table } from '../output.ts';
import { STATUS_NAMES, statusName, unary } from './train.ts';
import { printJobEvents } from './jobs.ts';

export const HEAD_FILE = 'score.safetensors';

/** Reads a preference JSONL file; dataset and objective input errors become exit-code-2 CliErrors. */
export async function readPreferences(file: string) {
  const { parsePreferenceJsonl } = await import('@tuneloop/datasets');
  const text = await readFile(file, 'utf8').catch((e: Error) => {
    throw new CliError(`--data: cannot read ${file} (${e.message})`, 2);
  });
  return inputErrors(() => parsePreferenceJsonl(text, { source: path.basename(file) }));
}

/** Runs `fn`, turning INVALID_ARGUMENT errors (dataset, objective) into CliError exit 2 and divergence into FAILED. */
export async function inputErrors<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = e as { code?: string; message?: string; name?: string };
    if (err.code === 'INVALID_ARGUMENT') throw new CliError(err.message ?? String(e), 2);
    if (err.name === 'TrainingDivergedError') throw new CliError(`FAILED: ${err.message}`, 1);
    throw e;
  }
}

export const num = (v: string) => Number(v);

/** Progress line on stderr for --watch. */
export function progressLine(step: number, total: number, m: Record<string, number>): string {
  const acc = m['rewards/accuracies'] ?? m.accuracy;
  return `\r[${step + 1}/${total}] loss ${m.loss.toFixed(4)}${acc === undefined || Number.isNaN(acc) ? '' : ` acc ${acc.toFixed(2)}`} `;
}

async function loadRewardModel(dir: string) {
  const [{ loadModel }, model] = await Promise.all([import('@tuneloop/files'), import('@tuneloop/model')]);
  const loaded = await loadModel(dir);
  const bytes = await readFile(path.join(dir, HEAD_FILE)).catch(() => {
    throw new CliError(`--model: ${dir} has no ${HEAD_FILE} (not a reward model folder)`, 2);
  });
  const raw = model.parseSafetensors(new Uint8Array(bytes)).tensors.get(model.REWARD_HEAD_NAME);
  if (!raw) throw new CliError(`--model: ${HEAD_FILE} has no '${model.REWARD_HEAD_NAME}' tensor`, 2);
  const head = model.tensorFromRaw(raw);
  const rm = new model.RewardModel(loaded.model, { head });
  head.dispose();
  if (!loaded.tokenizer) throw new CliError(`--model: ${dir} has no tokenizer.json`, 2);
  return { rm, tokenizer: loaded.tokenizer };
}

/** After mergeAndUnload: writes each merged linear into the model's own base weights (what saveModel exports). */
export function bakeMerged(m: import('@tuneloop/model').CausalLM): void {
  for (const [name, mod] of m.linears()) {
    const base = m.baseLinear(name);
    const merged = (mod as unknown as { weightT?: import('@tensorflow/tfjs-core').Tensor2D }).weightT;
    if (!base || mod === base || !merged) continue;
    base.weightT.assign(merged);
    m.setLinear(name, base);
  }
}

interface TrainOpts { base: string; data: string; out?: string; eval?: string; steps: number; batchSize: number; lr: number; rank: number; full?: boolean; lora?: boolean; margin?: boolean | string; center?: number; seed: number; watch?: boolean; json?: boolean; local?: boolean; addr?: string; output?: string; key?: string; checkpointEvery?: number; evalEvery?: number }

/** LoRA's learning rate when --lora / --rank asks for it (full fine-tuning's recipe rate barely moves an r 8 adapter). */
export const REWARD_LORA_LR = 3e-3;
const REWARD_LORA_RANK = 8;

/**
 * Fills the flags left out from the measured recipe (@tuneloop/objectives REWARD_MODEL_RECIPE): full fine-tuning,
 * 400 steps, batch 16, lr 3e-4, centering 0.01; --lora / --rank train a LoRA trunk instead (lr 3e-3, rank 8).
 */
export async function resolveTrainOpts(o: Partial<TrainOpts>): Promise<{ full: boolean; rank: number; steps: number; batchSize: number; lr: number; center: number }> {
  const { REWARD_MODEL_RECIPE: R } = await import('@tuneloop/objectives');
  const lora = !!o.lora || o.rank !== undefined;
  if (lora && o.full) throw new CliError('--full: cannot be combined with --lora / --rank (LoRA)', 2);
  const full = lora ? false : o.full || R.training === 'full';
  return {
    full, rank: o.rank ?? REWARD_LORA_RANK, steps: o.steps ?? R.steps, batchSize: o.batchSize ?? R.batchSize,
    lr: o.lr ?? (full ? R.lr : REWARD_LORA_LR), center: o.center ?? R.centerRewardsCoefficient,
  };
}

async function train(o: TrainOpts & { out: string }) {
  const [{ initBackend }, files, model, peft, obj] = await Promise.all([
    import('@tuneloop/engine'), import('@tuneloop/files'), import('@tuneloop/model'), import('@tuneloop/peft'), import('@tuneloop/objectives'),
  ]);
  const cfg = { steps: o.steps, batchSize: o.batchSize, lr: o.lr, seed: o.seed, useMargin: !!o.margin, centerRewardsCoefficient: o.center };
  // o is resolved (resolveTrainOpts): full / rank / steps / batchSize / lr / center set
  await inputErrors(() => obj.validateRewardConfig(cfg));
  const pairs = await readPreferences(o.data);
  const evalPairs = o.eval ? await readPreferences(o.eval) : null;
  const info = await initBackend({ quiet: true });
  const loaded = await files.loadModel(o.base);
  const tok = loaded.tokenizer;
  if (!tok) throw new CliError(`--base: ${o.base} has no tokenizer.json`, 2);
  await inputErrors(() => obj.encodePairs(tok, pairs));
  loaded.model.setTrainable(!!o.full);
  const lora = peft.getPeftMethod('lora');
  const pm = o.full ? null : lora.apply(loaded.model, lora.parseConfig({ r: o.rank, lora_alpha: 2 * o.rank, target_modules: 'all-linear' }), { seed: o.seed });
  const rm = new model.RewardModel(loaded.model, { seed: o.seed });
  const started = performance.now();
  const hist = await inputErrors(() =>
    obj.trainRewardModel(rm, tok, pairs, cfg, (s) => {
      if (o.watch) process.stderr.write(progressLine(s.step, o.steps, s.metrics));
    }),
  );
  if (o.watch) process.stderr.write('\n');
  const evaluation = evalPairs ? obj.evaluateRewardModel(rm, tok, evalPairs) : null;
  if (pm) {
    pm.mergeAndUnload();
    bakeMerged(loaded.model);
  }
  const summary = { out: path.resolve(o.out), base: o.base, backend: info.name, pairs: pairs.length, steps: hist.length, finalLoss: hist[hist.length - 1].metrics.loss, training: o.full ? 'full' : `lora r=${o.rank}`, evalAccuracy: evaluation?.accuracy ?? null, seconds: (performance.now() - started) / 1000 };
  const head = rm.namedHead();
  const headBytes = model.serializeSafetensors(model.rawFromTensors(head), { format: 'pt' });
  await files.saveModel(o.out, loaded.model, { tokenizer: tok, extraFiles: { [HEAD_FILE]: headBytes, 'reward_model.json': JSON.stringify(summary, null, 2) + '\n' } });
  for (const t of head.values()) t.dispose();
  return summary;
}

/** A client of the reward-model service: --addr, else TUNELOOP_GRPC_ADDR / TUNELOOP_GRPC_PORT. */
async function rmClient(addr?: string): Promise<RewardModelServiceClient> {
  const [{ credentials }, { RewardModelServiceClient: Client }, { loadConfig, grpcTarget }] = await Promise.all([
    import('@grpc/grpc-js'), import('@tuneloop/proto'), import('@tuneloop/service-kit'),
  ]);
  let target = addr;
  if (!target) {
    const c = loadConfig();
    target = grpcTarget(c.grpcHost, c.grpcPort);
  }
  return new Client(target, credentials.createInsecure());
}

/** A local folder is sent as an absolute path (the service reads it); anything else is a name or name@version. */
function refOf(v: string): { name: string; version: string } {
  if (existsSync(v) && statSync(v).isDirectory()) return { name: path.resolve(v), version: '' };
  const at = v.lastIndexOf('@');
  return at > 0 ? { name: v.slice(0, at), version: v.slice(at + 1) } : { name: v, version: '' };
}

/** A dataset argument: an existing file is sent as an absolute path, a URI (labeling://, file://) as is. */
const dataUri = (v: string) => (/^[a-z]+:\/\//.test(v) ? v : path.resolve(v));

const fmt = (v: number | undefined, d = 3) => (v === undefined ? '' : v.toFixed(d));

/** One progress line of a reward job event. */
export function rewardJobLine(e: JobEvent): string {
  const m = e.metrics;
  const parts = [`[${e.step}/${e.totalSteps}]`, `loss ${fmt(e.loss, 4)}`];
  if (m['rewards/accuracies'] !== undefined) parts.push(`acc ${fmt(m['rewards/accuracies'], 2)}`);
  if (m['rewards/margins'] !== undefined) parts.push(`margin ${fmt(m['rewards/margins'])}`);
  if (m.eval_accuracy !== undefined) parts.push(`eval acc ${fmt(m.eval_accuracy)}`);
  if (e.etaSeconds > 0) parts.push(`eta ${Math.round(e.etaSeconds)}s`);
  return parts.join(' ');
}

/** Follows a reward job until its stream ends (progress on stderr, or NDJSON events with --json); returns the job. */
async function watchRewardJob(client: RewardModelServiceClient, jobId: string, json?: boolean): Promise<Job> {
  await printJobEvents(client.watchRewardJob({ jobId }) as AsyncIterable<{ event?: JobEvent }>, json, rewardJobLine);
  return (await unary<{ job?: Job }>((cb) => client.getRewardJob({ jobId }, cb))).job as Job;
}

function rewardJobView(j: Job) {
  const r = j.output ? `${j.output.name}@${j.output.version}` : '';
  return { jobId: j.jobId, status: statusName(j.status), rewardModel: r, totalSteps: j.lastEvent?.totalSteps ?? 0, createdAt: j.createdAt?.toISOString() ?? '', finishedAt: j.finishedAt?.toISOString() ?? '', error: j.error };
}

async function finishWatch(client: RewardModelServiceClient, jobId: string, json?: boolean): Promise<void> {
  const final = await watchRewardJob(client, jobId, json);
  if (!json) emit(false, rewardJobView(final), (v) => `${v.jobId} ${v.status}${v.rewardModel ? `: reward model ${v.rewardModel}` : ''}${v.error ? `: ${v.error}` : ''}`);
  if (final.status !== 3) throw new CliError(`job ${final.jobId} ${statusName(final.status)}${final.error ? `: ${final.error}` : ''}`);
}

async function trainRemote(o: TrainOpts): Promise<void> {
  const { StartRewardTrainingRequest } = await import('@tuneloop/proto');
  const margin = o.margin === undefined || o.margin === false ? 0 : o.margin === true ? 1 : Number(o.margin);
  if (!Number.isFinite(margin)) throw new CliError(`--margin: must be a number, got '${String(o.margin)}'`, 2);
  const method: JobSpec['method'] = o.full ? { $case: 'full', value: {} } : { $case: 'lora', value: { r: o.rank, alpha: 2 * o.rank, dropout: 0, targetModules: [], useRslora: false } };
  const req = StartRewardTrainingRequest.fromPartial({
    spec: {
      baseModel: refOf(o.base),
      outputName: o.output ?? '',
      dataset: { uri: dataUri(o.data) },
      training: { learningRate: o.lr, maxSteps: o.steps, batchSize: o.batchSize, seed: o.seed },
      method,
      objective: { $case: 'reward', value: { margin } },
    },
    idempotencyKey: o.key ?? '',
    options: { evalDataset: o.eval ? { uri: dataUri(o.eval), format: 0 } : undefined, centerRewardsCoefficient: o.center, checkpointEvery: o.checkpointEvery ?? 0, evalEvery: o.evalEvery ?? 0 },
  });
  const client = await rmClient(o.addr);
  try {
    const { job } = await unary<{ job?: Job }>((cb) => client.startRewardTraining(req, cb));
    if (!job) throw new CliError('StartRewardTraining answered without a job');
    if (!o.watch) {
      emit(!!o.json, rewardJobView(job), (v) => `started ${v.jobId} (${v.status}); follow it with: tuneloop reward watch ${v.jobId}`);
      return;
    }
    if (!o.json) process.stderr.write(`job ${job.jobId} ${statusName(job.status)}\n`);
    await finishWatch(client, job.jobId, o.json);
  } finally {
    client.close();
  }
}

export function register(program: Command): void {
  const reward = program.command('reward').description('Reward models: train on preference pairs (Bradley-Terry), evaluate, score (through the reward-model service; --local runs in process).');
  reward
    .command('train')
    .description('Train a reward model (trunk + scalar head) on TRL preference JSONL {prompt, chosen, rejected}')
    .requiredOption('--base <ref|dir>', 'base model: a folder, a name under TUNELOOP_HOME/models, or a model-store name@version')
    .requiredOption('--data <file|uri>', 'preference pairs: JSONL file (or, through the service, file:// / labeling://<project>?round=N)')
    .option('--out <dir>', 'output folder (with --local; the service stores the model in the model store)')
    .option('--eval <file|uri>', 'held-out pairs for pairwise accuracy')
    .option('--steps <n>', 'optimizer steps (default: the measured recipe, 400)', num)
    .option('--batch-size <n>', 'pairs per step (default: the recipe, 16)', num)
    .option('--lr <x>', 'peak learning rate (default: the recipe, 3e-4 full fine-tuning; 3e-3 with --lora / --rank)', num)
    .option('--full', 'train every trunk weight (the default, as the measured recipe)')
    .option('--lora', 'train a LoRA adapter on the trunk instead of every weight (rank --rank, default 8)')
    .option('--rank <r>', 'LoRA rank of the trunk (implies --lora)', num)
    .option('--margin [weight]', "subtract each pair's \"margin\" field (times weight, default 1) in the loss (Llama 2)")
    .option('--center <c>', 'reward-centering coefficient (Eisenstein et al. 2023; default: the recipe, 0.01; 0: off)', num)
    .option('--seed <n>', 'seed', num, 1)
    .option('--output <name>', 'model-store name of the result (default <base>-rm; version = job id)')
    .option('--checkpoint-every <n>', 'checkpoint every N steps (service; default 50)', num)
    .option('--eval-every <n>', 'held-out accuracy every N steps (service; default at the end)', num)
    .option('--key <idempotency-key>', 'same key, same job (safe retries)')
    .option('--addr <host:port>', 'gRPC address (default TUNELOOP_GRPC_ADDR)')
    .option('--local', 'train in this process and write --out (no services needed)')
    .option('--watch', 'live progress on stderr (with --json through the service: one JSON event per line)')
    .option('--json', 'print JSON')
    .action(async (opts: TrainOpts) => {
      const o = { ...opts, ...(await resolveTrainOpts(opts)) };
      if (!o.local) return trainRemote(o);
      if (!o.out) throw new CliError('--out: required with --local', 2);
      const s = await train({ ...o, out: o.out });
      emit(!!o.json, s, (v) => `saved ${v.out}: ${v.steps} steps, final loss ${v.finalLoss.toFixed(4)}${v.evalAccuracy === null ? '' : `, held-out accuracy ${(100 * v.evalAccuracy).toFixed(1)}%`}`);
    });
  reward
    .command('eval')
    .description('Pairwise accuracy of a reward model on preference JSONL')
    .requiredOption('--model <ref|dir>', 'reward model: model-store name@version (as reward jobs store it) or a folder')
    .requiredOption('--data <file|uri>', 'preference pairs, JSONL')
    .option('--addr <host:port>', 'gRPC address (default TUNELOOP_GRPC_ADDR)')
    .option('--local', 'evaluate in this process (--model must be a folder)')
    .option('--json', 'print JSON')
    .action(async (o: { model: string; data: string; json?: boolean; local?: boolean; addr?: string }) => {
      const show = (v: { accuracy: number; count: number; meanMargin: number }) => `pairwise accuracy ${(100 * v.accuracy).toFixed(1)}% on ${v.count} pairs (mean margin ${v.meanMargin.toFixed(3)})`;
      if (!o.local) {
        const client = await rmClient(o.addr);
        try {
          const r = await unary<{ accuracy: number; pairs: number; meanMargin: number }>((cb) => client.evaluateRewardModel({ rewardModel: refOf(o.model), dataset: { uri: dataUri(o.data), format: 0 } }, cb));
          emit(!!o.json, { accuracy: r.accuracy, meanMargin: r.meanMargin, count: Number(r.pairs) }, show);
        } finally {
          client.close();
        }
        return;
      }
      const pairs = await readPreferences(o.data);
      await (await import('@tuneloop/engine')).initBackend({ quiet: true });
      const { rm, tokenizer } = await loadRewardModel(o.model);
      const { evaluateRewardModel } = await import('@tuneloop/objectives');
      const r = await inputErrors(() => evaluateRewardModel(rm, tokenizer, pairs));
      emit(!!o.json, r, show);
    });
  reward
    .command('score')
    .description('Score responses to one prompt')
    .requiredOption('--model <ref|dir>', 'reward model: model-store name@version (as reward jobs store it) or a folder')
    .requiredOption('--prompt <text>', 'the prompt')
    .requiredOption('--response <text...>', 'one or more responses')
    .option('--addr <host:port>', 'gRPC address (default TUNELOOP_GRPC_ADDR)')
    .option('--local', 'score in this process (--model must be a folder)')
    .option('--json', 'print JSON')
    .action(async (o: { model: string; prompt: string; response: string[]; json?: boolean; local?: boolean; addr?: string }) => {
      const show = (v: { response: string; score: number }[]) => table(['score', 'response'], v.map((r) => [r.score.toFixed(4), JSON.stringify(r.response)]));
      if (!o.local) {
        const client = await rmClient(o.addr);
        try {
          const r = await unary<{ scores: number[] }>((cb) => client.score({ rewardModel: refOf(o.model), items: o.response.map((completion) => ({ prompt: o.prompt, completion })) }, cb));
          emit(!!o.json, o.response.map((x, i) => ({ response: x, score: r.scores[i] })), show);
        } finally {
          client.close();
        }
        return;
      }
      await (await import('@tuneloop/engine')).initBackend({ quiet: true });
      const { rm, tokenizer } = await loadRewardModel(o.model);
      const { scoreResponses } = await import('@tuneloop/objectives');
      const scores = await inputErrors(() => scoreResponses(rm, tokenizer, o.prompt, o.response));
      const rows = o.response.map((r, i) => ({ response: r, score: scores[i] }));
      emit(!!o.json, rows, show);
    });
  reward
    .command('ls')
    .description('List reward-model training jobs, newest first')
    .option('--status <s>', 'only jobs in this state (queued, running, succeeded, failed, cancelled)')
    .option('--addr <host:port>', 'gRPC address')
    .option('--json', 'print JSON')
    .action(async (o: { status?: string; addr?: string; json?: boolean }) => {
      const status = o.status ? STATUS_NAMES.indexOf(o.status) : 0;
      if (status <= 0 && o.status) throw new CliError(`--status: must be one of ${STATUS_NAMES.slice(1).join(', ')}, got '${o.status}'`, 2);
      const client = await rmClient(o.addr);
      try {
        const jobs: Job[] = [];
        let pageToken = '';
        do {
          const r = await unary<{ jobs: Job[]; nextPageToken: string }>((cb) => client.listRewardJobs({ pageSize: 500, pageToken, status }, cb));
          jobs.push(...r.jobs);
          pageToken = r.nextPageToken;
        } while (pageToken);
        emit(!!o.json, jobs.map(rewardJobView), (v) =>
          v.length === 0 ? 'no reward-model jobs' : table(['JOB', 'STATUS', 'STEPS', 'REWARD MODEL', 'CREATED'], v.map((j) => [j.jobId, j.status, j.totalSteps, j.rewardModel || j.error.slice(0, 40), j.createdAt])),
        );
      } finally {
        client.close();
      }
    });
  reward
    .command('watch <jobId>')
    .description('Follow a reward-model training job until it ends (replays its history first)')
    .option('--addr <host:port>', 'gRPC address')
    .option('--json', 'one JSON event per line')
    .action(async (jobId: string, o: { addr?: string; json?: boolean }) => {
      const client = await rmClient(o.addr);
      try {
        await finishWatch(client, jobId, o.json);
      } finally {
        client.close();
      }
    });
  reward
    .command('cancel <jobId>')
    .description('Cancel a queued or running reward-model training job')
    .option('--addr <host:port>', 'gRPC address')
    .option('--json', 'print JSON')
    .action(async (jobId: string, o: { addr?: string; json?: boolean }) => {
      const client = await rmClient(o.addr);
      try {
        const { job } = await unary<{ job?: Job }>((cb) => client.cancelRewardJob({ jobId }, cb));
        emit(!!o.json, rewardJobView(job as Job), (v) => `${v.jobId} ${v.status}`);
      } finally {
        client.close();
      }
    });
}
