// `tuneloop train sft`: starts an SFT job on the adapter-trainer service (base model + PEFT method + JSONL data)
// and, with --watch, follows it with a live progress bar (loss, lr, eval loss, ETA) on stderr.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { AdapterTrainerServiceClient, Job, JobEvent } from '@tuneloop/proto';
import { CliError, emit } from '../output.ts';

/** gRPC target of the services: --addr, else TUNELOOP_GRPC_ADDR / TUNELOOP_GRPC_PORT (as `npm start` listens). */
export async function trainerClient(addr?: string): Promise<AdapterTrainerServiceClient> {
  const [{ credentials }, { AdapterTrainerServiceClient: Client }, { loadConfig, grpcTarget }] = await Promise.all([
    import('@grpc/grpc-js'), import('@tuneloop/proto'), import('@tuneloop/service-kit'),
  ]);
  let target = addr;
  if (!target) {
    const c = loadConfig();
    target = grpcTarget(c.grpcHost, c.grpcPort);
  }
  return new Client(target, credentials.createInsecure());
}

/** A unary call as a promise; gRPC errors become a one-line CliError with the status name. */
export async function unary<R>(start: (cb: (err: { code: number; details: string } | null, res: R) => void) => unknown): Promise<R> {
  const { status } = await import('@grpc/grpc-js');
  return new Promise((resolve, reject) =>
    start((err, res) => (err ? reject(new CliError(`${status[err.code] ?? err.code}: ${err.details}`, err.code === status.INVALID_ARGUMENT ? 2 : 1)) : resolve(res))),
  );
}

export const STATUS_NAMES = ['unspecified', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];
export const statusName = (s: number) => STATUS_NAMES[s] ?? String(s);

function bar(e: JobEvent): string {
  const width = 24;
  const total = Math.max(1, e.totalSteps);
  const done = Math.min(width, Math.round((width * e.step) / total));
  const ev = e.metrics.eval_loss !== undefined ? ` eval ${e.metrics.eval_loss.toFixed(3)}` : '';
  const loss = e.loss > 0 ? ` loss ${e.loss.toFixed(3)}` : '';
  const lr = e.learningRate > 0 ? ` lr ${e.learningRate.toExponential(1)}` : '';
  const eta = e.etaSeconds > 0 ? ` eta ${Math.round(e.etaSeconds)}s` : '';
  return `\r[${'#'.repeat(done)}${'-'.repeat(width - done)}] ${e.step}/${e.totalSteps}${loss}${ev}${lr}${eta} `;
}

/**
 * Follows a job until its stream ends: a progress bar on stderr (when it is a terminal or `progress` is set),
 * NDJSON events on stdout with `json`. Returns the final job.
 */
export async function watchJob(client: AdapterTrainerServiceClient, jobId: string, opts: { json?: boolean; quiet?: boolean }): Promise<Job> {
  const stream = client.watchTrainingJob({ jobId });
  const tty = !opts.quiet && !opts.json && process.stderr.isTTY;
  let lastLine = '';
  try {
    for await (const msg of stream as AsyncIterable<{ event?: JobEvent }>) {
      const e = msg.event;
      if (!e) continue;
      if (opts.json) process.stdout.write(JSON.stringify({ ...e, status: statusName(e.status) }) + '\n');
      else if (!opts.quiet) {
        if (e.message && !/^(running|queued)$/.test(e.message) && (e.loss === 0 || !tty)) process.stderr.write(`${tty && lastLine ? '\n' : ''}${e.message}\n`);
        if (e.totalSteps > 0 && e.step > 0 && tty) process.stderr.write((lastLine = bar(e)));
        else if (!tty && e.step > 0 && e.loss > 0 && (e.step % 10 === 0 || e.step === e.totalSteps)) process.stderr.write(`${bar(e).slice(1)}\n`);
      }
    }
  } catch (err) {
    const { status } = await import('@grpc/grpc-js');
    const e = err as { code?: number; details?: string };
    throw new CliError(`${status[e.code ?? 2] ?? e.code}: ${e.details ?? String(err)}`);
  }
  if (tty && lastLine) process.stderr.write('\n');
  return (await unary<{ job?: Job }>((cb) => client.getTrainingJob({ jobId }, cb))).job as Job;
}

/** Plain JSON view of a job (status names, ISO times). */
export function jobView(j: Job) {
  return {
    jobId: j.jobId,
    status: statusName(j.status),
    base: j.spec?.baseModel?.name ?? '',
    output: j.output ? `${j.output.name}@${j.output.version}` : '',
    totalSteps: j.lastEvent?.totalSteps ?? 0,
    createdAt: j.createdAt?.toISOString() ?? '',
    finishedAt: j.finishedAt?.toISOString() ?? '',
    error: j.error,
  };
}

interface SftOpts {
  base: string;
  data: string;
  method: string;
  rank?: string;
  targets?: string;
  config?: string;
  output?: string;
  lr?: string;
  epochs?: string;
  maxSteps?: string;
  batchSize?: string;
  gradAccum?: string;
  warmup?: string;
  scheduler?: string;
  weightDecay?: string;
  maxGradNorm?: string;
  maxSeqLength?: string;
  overlong?: string;
  evalFraction?: string;
  evalEvery?: string;
  checkpointEvery?: string;
  seed?: string;
  key?: string;
  addr?: string;
  watch?: boolean;
  json?: boolean;
}

function num(flag: string, v: string | undefined, integer: boolean): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new CliError(`${flag}: must be ${integer ? 'an integer' : 'a number'}, got '${v}'`, 2);
  return n;
}

/** A local folder is sent as an absolute path (the service reads it); anything else is a model name. */
function baseRef(base: string): string {
  return existsSync(base) && statSync(base).isDirectory() ? path.resolve(base) : base;
}

async function sft(o: SftOpts): Promise<void> {
  const { StartTrainingRequest } = await import('@tuneloop/proto');
  if (!existsSync(o.data)) throw new CliError(`--data: no such file ${o.data}`, 2);
  const req = StartTrainingRequest.fromPartial({
    spec: {
      baseModel: { name: baseRef(o.base) },
      outputName: o.output ?? '',
      dataset: { uri: path.resolve(o.data) },
      training: {
        learningRate: num('--lr', o.lr, false), epochs: num('--epochs', o.epochs, true), maxSteps: num('--max-steps', o.maxSteps, true),
        batchSize: num('--batch-size', o.batchSize, true), gradientAccumulationSteps: num('--grad-accum', o.gradAccum, true),
        warmupSteps: num('--warmup', o.warmup, true), lrScheduler: o.scheduler ?? '', weightDecay: num('--weight-decay', o.weightDecay, false),
        maxGradNorm: o.maxGradNorm === undefined ? 1 : num('--max-grad-norm', o.maxGradNorm, false), maxSeqLength: num('--max-seq-length', o.maxSeqLength, true),
        seed: num('--seed', o.seed, true),
      },
      objective: { $case: 'sft', value: { completionOnlyLoss: true } },
    },
    idempotencyKey: o.key ?? '',
    options: {
      method: o.method, rank: num('--rank', o.rank, true), targetModules: o.targets ? o.targets.split(',').map((s) => s.trim()).filter(Boolean) : [],
      methodConfigJson: o.config ?? '', evalFraction: num('--eval-fraction', o.evalFraction, false), evalEvery: num('--eval-every', o.evalEvery, true),
      checkpointEvery: num('--checkpoint-every', o.checkpointEvery, true), overlong: o.overlong ?? '',
    },
  });
  const client = await trainerClient(o.addr);
  try {
    const { job } = await unary<{ job?: Job }>((cb) => client.startTraining(req, cb));
    if (!job) throw new CliError('StartTraining answered without a job');
    if (!o.watch) {
      emit(!!o.json, jobView(job), (v) => `started ${v.jobId} (${v.status}); follow it with: tuneloop jobs watch ${v.jobId}`);
      return;
    }
    if (!o.json) process.stderr.write(`job ${job.jobId} ${statusName(job.status)}\n`);
    const final = await watchJob(client, job.jobId, { json: o.json });
    if (!o.json) emit(false, jobView(final), (v) => `${v.jobId} ${v.status}${v.output ? `: adapter ${v.output}` : ''}${v.error ? `: ${v.error}` : ''}`);
    if (final.status !== 3) throw new CliError(`job ${final.jobId} ${statusName(final.status)}${final.error ? `: ${final.error}` : ''}`);
  } finally {
    client.close();
  }
}

export function register(program: Command): void {
  const train = program.command('train').description('Start training jobs (SFT on the adapter trainer).');
  train
    .command('sft')
    .description('Supervised fine-tuning with a PEFT method on a TRL-style JSONL dataset ({prompt, completion} or {messages})')
    .requiredOption('--base <ref|dir>', 'base model: a folder, or a model name under TUNELOOP_HOME/models')
    .requiredOption('--data <file.jsonl>', 'JSONL dataset (read by the service)')
    .option('--method <name>', 'full, partial, lora, qlora, vera, dora or adalora', 'lora')
    .option('--rank <r>', 'rank (r / init_r) of the method')
    .option('--targets <a,b>', 'target modules, e.g. q_proj,v_proj or all-linear')
    .option('--config <json>', 'method config with PEFT field names, e.g. \'{"lora_alpha": 16}\'')
    .option('--output <name>', 'adapter name (default: <base>-<method>)')
    .option('--lr <x>', 'peak learning rate (default 2e-4)')
    .option('--epochs <n>', 'passes over the data (default 1)')
    .option('--max-steps <n>', 'optimizer steps (overrides --epochs)')
    .option('--batch-size <n>', 'rows per micro-batch (default 8)')
    .option('--grad-accum <n>', 'micro-batches per optimizer step (default 1)')
    .option('--warmup <n>', 'linear warmup steps (default 0)')
    .option('--scheduler <name>', 'cosine (default), linear or constant')
    .option('--weight-decay <x>', 'AdamW decoupled weight decay (default 0)')
    .option('--max-grad-norm <x>', 'global-norm clipping, 0 disables (default 1)')
    .option('--max-seq-length <n>', "token limit per row (default: the model's context)")
    .option('--overlong <mode>', 'rows over the limit: reject (default) or truncate')
    .option('--eval-fraction <x>', 'held-out share of the data (default 0.1)')
    .option('--eval-every <n>', 'evaluate every N steps (default: at the end)')
    .option('--checkpoint-every <n>', 'checkpoint every N steps (default 50)')
    .option('--seed <n>', 'seed of init, shuffles and split (default 0)')
    .option('--key <idempotency-key>', 'same key, same job (safe retries)')
    .option('--addr <host:port>', 'gRPC address (default TUNELOOP_GRPC_ADDR)')
    .option('--watch', 'follow the job with a progress bar until it ends')
    .option('--json', 'print JSON (with --watch: one event per line)')
    .action((o: SftOpts) => sft(o));
}
