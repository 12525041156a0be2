// `tuneloop jobs ls|watch|cancel`: jobs of every kind in the shared jobs KV (train.sft on the adapter trainer,
// train.reward on the reward-model service, optimize.preference / optimize.rl on the preference optimizer),
// through each service's own Get / List / Cancel / Watch RPCs. One table (KINDS) says which service holds a kind
// and how its job ids start; everything else is one code path for all kinds.
import type { Command } from 'commander';
import type { Job, JobEvent } from '@tuneloop/proto';
import { CliError, emit, table } from '../output.ts';
import { STATUS_NAMES, statusName, unary } from './train.ts';

interface Common {
  addr?: string;
  json?: boolean;
}

type Callback<R> = (err: { code: number; details: string } | null, res: R) => void;
type Unary<Q, R> = (req: Q, cb: Callback<R>) => unknown;

/** The four job RPCs of one service, whatever its names for them. */
interface JobRpcs {
  list: Unary<{ pageSize: number; pageToken: string; status: number }, { jobs: Job[]; nextPageToken: string }>;
  get: Unary<{ jobId: string }, { job?: Job }>;
  cancel: Unary<{ jobId: string }, { job?: Job }>;
  watch(req: { jobId: string }): AsyncIterable<{ event?: JobEvent }>;
  close(): void;
}

/** A job service: its generated client (in @tuneloop/proto) and the names of its job RPCs. */
interface JobService {
  service: string;
  client: 'AdapterTrainerServiceClient' | 'RewardModelServiceClient' | 'PreferenceOptimizerServiceClient';
  rpcs: { list: string; get: string; cancel: string; watch: string };
}

const TRAINER: JobService = {
  service: 'AdapterTrainerService', client: 'AdapterTrainerServiceClient',
  rpcs: { list: 'listTrainingJobs', get: 'getTrainingJob', cancel: 'cancelTrainingJob', watch: 'watchTrainingJob' },
};
const REWARD: JobService = {
  service: 'RewardModelService', client: 'RewardModelServiceClient',
  rpcs: { list: 'listRewardJobs', get: 'getRewardJob', cancel: 'cancelRewardJob', watch: 'watchRewardJob' },
};
const OPTIMIZER: JobService = {
  service: 'PreferenceOptimizerService', client: 'PreferenceOptimizerServiceClient',
  rpcs: { list: 'listOptimizationJobs', get: 'getOptimizationJob', cancel: 'cancelOptimizationJob', watch: 'watchOptimizationJob' },
};

/** Every job kind of the jobs KV: the service that owns it, the prefix of its job ids, what its output is. */
export const KINDS = [
  { kind: 'train.sft', prefix: 'sft', output: 'adapter', svc: TRAINER },
  { kind: 'train.reward', prefix: 'rm', output: 'reward model', svc: REWARD },
  { kind: 'optimize.preference', prefix: 'pref', output: 'adapter', svc: OPTIMIZER },
  { kind: 'optimize.rl', prefix: 'rl', output: 'adapter', svc: OPTIMIZER },
] as const;
type Kind = (typeof KINDS)[number];

const kindByName = (name: string) => KINDS.find((k) => k.kind === name);
const kindOfId = (jobId: string) => KINDS.find((k) => jobId.startsWith(`${k.prefix}-`));

function kindOfJob(jobId: string): Kind {
  const k = kindOfId(jobId);
  if (!k) throw new CliError(`jobId: '${jobId}' is not a job id (job ids start with ${KINDS.map((x) => `${x.prefix}-`).join(', ')})`, 2);
  return k;
}

async function connect(svc: JobService, addr?: string): Promise<JobRpcs> {
  const [{ credentials }, proto, { loadConfig, grpcTarget }] = await Promise.all([import('@grpc/grpc-js'), import('@tuneloop/proto'), import('@tuneloop/service-kit')]);
  let target = addr;
  if (!target) {
    const c = loadConfig();
    target = grpcTarget(c.grpcHost, c.grpcPort);
  }
  const client = new proto[svc.client](target, credentials.createInsecure()) as unknown as Record<string, (...a: unknown[]) => unknown> & { close(): void };
  const call = (name: string) => client[name].bind(client) as never;
  return { list: call(svc.rpcs.list), get: call(svc.rpcs.get), cancel: call(svc.rpcs.cancel), watch: call(svc.rpcs.watch), close: () => client.close() };
}

/** Plain JSON view of a job of any kind (the SFT view's fields, plus kind, step and progress). */
export function jobView(j: Job) {
  const kind = kindOfId(j.jobId);
  const step = j.lastEvent?.step ?? 0;
  const totalSteps = j.lastEvent?.totalSteps ?? 0;
  return {
    jobId: j.jobId,
    kind: kind?.kind ?? '',
    status: statusName(j.status),
    base: j.spec?.baseModel ? `${j.spec.baseModel.name}${j.spec.baseModel.version ? `@${j.spec.baseModel.version}` : ''}` : '',
    output: j.output ? `${j.output.name}@${j.output.version}` : '',
    step,
    totalSteps,
    progress: totalSteps > 0 ? `${step}/${totalSteps}` : '',
    createdAt: j.createdAt?.toISOString() ?? '',
    finishedAt: j.finishedAt?.toISOString() ?? '',
    error: j.error,
  };
}

const UNIMPLEMENTED = 12;

/** Every page of one service's listing; undefined when this address does not serve that service. */
async function listAll(svc: JobService, o: Common, status: number): Promise<Job[] | undefined> {
  const rpc = await connect(svc, o.addr);
  try {
    const jobs: Job[] = [];
    let pageToken = '';
    do {
      const r = await new Promise<{ jobs: Job[]; nextPageToken: string } | undefined>((resolve, reject) =>
        rpc.list({ pageSize: 500, pageToken, status }, (err, res) => (err?.code === UNIMPLEMENTED ? resolve(undefined) : err ? reject(err) : resolve(res))),
      );
      if (!r) return undefined;
      jobs.push(...r.jobs);
      pageToken = r.nextPageToken;
    } while (pageToken);
    return jobs;
  } catch (err) {
    const { status: names } = await import('@grpc/grpc-js');
    const e = err as { code: number; details: string };
    throw new CliError(`${svc.service}: ${names[e.code] ?? e.code}: ${e.details}`);
  } finally {
    rpc.close();
  }
}

async function ls(o: Common & { status?: string; kind?: string }): Promise<void> {
  const status = o.status ? STATUS_NAMES.indexOf(o.status) : 0;
  if (status <= 0 && o.status) throw new CliError(`--status: must be one of ${STATUS_NAMES.slice(1).join(', ')}, got '${o.status}'`, 2);
  const only = o.kind === undefined ? undefined : kindByName(o.kind);
  if (o.kind !== undefined && !only) throw new CliError(`--kind: must be one of ${KINDS.map((k) => k.kind).join(', ')}, got '${o.kind}'`, 2);
  const services = [...new Set((only ? [only] : KINDS).map((k) => k.svc))];
  const lists = await Promise.all(services.map((s) => listAll(s, o, status)));
  if (lists.every((l) => l === undefined)) {
    throw new CliError(`no job service at this address (${services.map((s) => s.service).join(', ')}: UNIMPLEMENTED)`);
  }
  const jobs = lists.flatMap((l) => l ?? []).filter((j) => !only || kindOfId(j.jobId) === only);
  jobs.sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
  emit(!!o.json, jobs.map(jobView), (v) =>
    v.length === 0 ? `no ${only ? `${only.kind} ` : ''}jobs` : table(['JOB', 'KIND', 'STATUS', 'PROGRESS', 'BASE', 'OUTPUT', 'CREATED'], v.map((j) => [j.jobId, j.kind, j.status, j.progress, j.base, j.output || j.error.slice(0, 40), j.createdAt])),
  );
}

const fmt = (x: number) => (Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(4).replace(/\.?0+$/, '') || '0' : x.toExponential(1));

/** The metrics a progress line shows, when a step event has them (SFT, reward, preference and RL jobs alike). */
const SHOWN: [string, string][] = [
  ['loss', 'loss'], ['eval_loss', 'eval loss'], ['rewards/accuracies', 'acc'], ['rewards/margins', 'margin'], ['eval_accuracy', 'eval acc'],
  ['eval_rewards/accuracies', 'eval acc'], ['reward', 'reward'], ['pass_rate', 'pass'], ['kl', 'kl'], ['clip_ratio', 'clip'],
];

/** One progress line of a step event: `[step/total]` and the metrics it carries. */
export function progressLine(e: JobEvent): string {
  const parts = [`[${e.step}/${e.totalSteps}]`];
  for (const [k, label] of SHOWN) if (e.metrics[k] !== undefined) parts.push(`${label} ${fmt(e.metrics[k])}`);
  if (e.learningRate > 0) parts.push(`lr ${e.learningRate.toExponential(1)}`);
  if (e.etaSeconds > 0) parts.push(`eta ${Math.round(e.etaSeconds)}s`);
  return parts.join(' ');
}

/**
 * Prints a Watch*Job stream until it ends: `progress(e)` of each step event on stderr (one line, rewritten in place on a
 * tty), other messages on stderr, or every event as an NDJSON line on stdout with json. A gRPC error becomes a CliError.
 */
export async function printJobEvents(events: AsyncIterable<{ event?: JobEvent }>, json: boolean | undefined, progress: (e: JobEvent) => string): Promise<void> {
  const tty = !json && !!process.stderr.isTTY;
  let open = false;
  try {
    for await (const { event: e } of events) {
      if (!e) continue;
      if (json) {
        process.stdout.write(JSON.stringify({ ...e, status: statusName(e.status) }) + '\n');
      } else if (e.step > 0 && e.metrics.loss !== undefined) {
        process.stderr.write(tty ? `\r${progress(e)} ` : `${progress(e)}\n`);
        open = tty;
      } else if (e.message && !/^(running|queued)$/.test(e.message)) {
        process.stderr.write(`${open ? '\n' : ''}${e.message}\n`);
        open = false;
      }
    }
  } catch (err) {
    const { status } = await import('@grpc/grpc-js');
    const x = err as { code?: number; details?: string };
    throw new CliError(`${status[x.code ?? 2] ?? x.code}: ${x.details ?? String(err)}`);
  }
  if (open) process.stderr.write('\n');
}

/** Follows a job until its stream ends (see printJobEvents); returns the final job. */
async function follow(rpc: JobRpcs, jobId: string, json?: boolean): Promise<Job> {
  await printJobEvents(rpc.watch({ jobId }), json, progressLine);
  return (await unary<{ job?: Job }>((cb) => rpc.get({ jobId }, cb))).job as Job;
}

async function watch(jobId: string, o: Common): Promise<void> {
  const kind = kindOfJob(jobId);
  const rpc = await connect(kind.svc, o.addr);
  try {
    const final = await follow(rpc, jobId, o.json);
    if (!o.json) emit(false, jobView(final), (v) => `${v.jobId} ${v.status}${v.output ? `: ${kind.output} ${v.output}` : ''}${v.error ? `: ${v.error}` : ''}`);
  } finally {
    rpc.close();
  }
}

async function cancel(jobId: string, o: Common): Promise<void> {
  const rpc = await connect(kindOfJob(jobId).svc, o.addr);
  try {
    const { job } = await unary<{ job?: Job }>((cb) => rpc.cancel({ jobId }, cb));
    emit(!!o.json, jobView(job as Job), (v) => `${v.jobId} ${v.status}${v.progress ? ` at step ${v.progress}` : ''}`);
  } finally {
    rpc.close();
  }
}

export function register(program: Command): void {
  const jobs = program.command('jobs').description('Jobs of every kind (SFT, reward model, preference and RL optimization): list, follow, cancel.');
  jobs.command('ls').description('List jobs, newest first, with their kind, state, progress and output')
    .option('--kind <k>', `only jobs of this kind (${KINDS.map((k) => k.kind).join(', ')})`)
    .option('--status <s>', 'only jobs in this state (queued, running, succeeded, failed, cancelled)')
    .option('--addr <host:port>', 'gRPC address (default TUNELOOP_GRPC_ADDR)')
    .option('--json', 'print JSON')
    .action((o: Common & { status?: string; kind?: string }) => ls(o));
  jobs.command('watch <jobId>').description('Follow a job with live progress until it ends (replays its history first)')
    .option('--addr <host:port>', 'gRPC address')
    .option('--json', 'one JSON event per line')
    .action((id: string, o: Common) => watch(id, o));
  jobs.command('cancel <jobId>').description('Cancel a queued or running job')
    .option('--addr <host:port>', 'gRPC address')
    .option('--json', 'print JSON')
    .action((id: string, o: Common) => cancel(id, o));
}
