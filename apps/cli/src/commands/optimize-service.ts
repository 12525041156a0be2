// `tuneloop optimize ...` through the preference-optimizer service (the default; `--local` runs in this process):
// builds StartOptimization requests from the CLI's flags, follows a job's progress (per step: loss / accuracy /
// margin for the DPO family, reward / pass rate / KL / clip ratio for GRPO, PPO and best-of-N), and
// `tuneloop optimize ls|watch|cancel`.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Job, JobEvent, PreferenceOptimizerServiceClient, StartOptimizationRequest } from '@tuneloop/proto';
import { CliError, emit, table } from '../output.ts';
import { printJobEvents } from './jobs.ts';
import { STATUS_NAMES, statusName, unary } from './train.ts';

/** gRPC client of the optimizer: --addr, else TUNELOOP_GRPC_ADDR / TUNELOOP_GRPC_PORT (as `npm start` listens). */
export async function optimizerClient(addr?: string): Promise<PreferenceOptimizerServiceClient> {
  const [{ credentials }, { PreferenceOptimizerServiceClient: Client }, { loadConfig, grpcTarget }] = await Promise.all([
    import('@grpc/grpc-js'), import('@tuneloop/proto'), import('@tuneloop/service-kit'),
  ]);
  let target = addr;
  if (!target) {
    const c = loadConfig();
    target = grpcTarget(c.grpcHost, c.grpcPort);
  }
  return new Client(target, credentials.createInsecure());
}

/** A model / adapter reference: an existing folder is sent as its absolute path, else `name[@version]` of the model store. */
export function refOf(text: string, flag: string): { name: string; version: string } {
  if (existsSync(text) && statSync(text).isDirectory()) return { name: path.resolve(text), version: '' };
  const at = text.lastIndexOf('@');
  const name = at > 0 ? text.slice(0, at) : text;
  const version = at > 0 ? text.slice(at + 1) : '';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) throw new CliError(`${flag}: not a folder nor a model-store name[@version], got '${text}'`, 2);
  return { name, version: version === 'latest' ? '' : version };
}

/** A dataset URI: labeling:// and file:// as given, a file as its absolute path (it must exist). */
export function dataUriOf(file: string, flag: string): string {
  if (/^(labeling|file):\/\//.test(file)) return file;
  if (!existsSync(file)) throw new CliError(`${flag}: no such file ${file}`, 2);
  return path.resolve(file);
}

export function jobView(j: Job) {
  const objective = j.spec?.objective?.$case ?? '';
  return {
    jobId: j.jobId,
    status: statusName(j.status),
    objective: objective === 'bestOfN' ? 'best_of_n' : objective,
    policy: j.spec?.baseModel ? `${j.spec.baseModel.name}${j.spec.baseModel.version ? `@${j.spec.baseModel.version}` : ''}` : '',
    output: j.output ? `${j.output.name}@${j.output.version}` : '',
    totalSteps: j.lastEvent?.totalSteps ?? 0,
    createdAt: j.createdAt?.toISOString() ?? '',
    finishedAt: j.finishedAt?.toISOString() ?? '',
    error: j.error,
  };
}

const f = (x: number | undefined, d: number) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));

/** One progress line of a step event: RL metrics when the event has a reward, else the preference ones. */
export function progressOf(e: JobEvent): string {
  const m = e.metrics;
  const head = `[${e.step}/${e.totalSteps}]`;
  if (m.reward !== undefined || m.pass_rate !== undefined) return `${head} reward ${f(m.reward, 3)} pass ${f(m.pass_rate, 3)} kl ${f(m.kl, 4)} clip ${f(m.clip_ratio, 3)} loss ${f(m.loss, 4)}`;
  const ev = m['eval_rewards/accuracies'] !== undefined ? ` eval acc ${f(m['eval_rewards/accuracies'], 2)}` : '';
  return `${head} loss ${f(m.loss, 4)} acc ${f(m['rewards/accuracies'], 2)} margin ${f(m['rewards/margins'], 4)}${ev}`;
}

/** Follows a job until its stream ends (progress on stderr, or NDJSON events on stdout with json); returns the final job. */
export async function followJob(client: PreferenceOptimizerServiceClient, jobId: string, o: { json?: boolean }): Promise<Job> {
  await printJobEvents(client.watchOptimizationJob({ jobId }) as AsyncIterable<{ event?: JobEvent }>, o.json, progressOf);
  return (await unary<{ job?: Job }>((cb) => client.getOptimizationJob({ jobId }, cb))).job as Job;
}

/** Starts a job; with watch follows it to the end (non-zero exit unless it succeeded). */
export async function submit(req: StartOptimizationRequest, o: { addr?: string; watch?: boolean; json?: boolean }): Promise<void> {
  const client = await optimizerClient(o.addr);
  try {
    const { job } = await unary<{ job?: Job }>((cb) => client.startOptimization(req, cb));
    if (!job) throw new CliError('StartOptimization answered without a job');
    if (!o.watch) {
      emit(!!o.json, jobView(job), (v) => `started ${v.jobId} (${v.status}); follow it with: tuneloop optimize watch ${v.jobId}`);
      return;
    }
    if (!o.json) process.stderr.write(`job ${job.jobId} ${statusName(job.status)}\n`);
    const final = await followJob(client, job.jobId, o);
    // with --json the events were NDJSON: the job is one more line
    if (o.json) process.stdout.write(JSON.stringify(jobView(final)) + '\n');
    else emit(false, jobView(final), (v) => `${v.jobId} ${v.status}${v.output ? `: adapter ${v.output}` : ''}${v.error ? `: ${v.error}` : ''}`);
    if (final.status !== 3) throw new CliError(`job ${final.jobId} ${statusName(final.status)}${final.error ? `: ${final.error}` : ''}`);
  } finally {
    client.close();
  }
}

interface Common {
  addr?: string;
  json?: boolean;
}

/** `tuneloop optimize ls|watch|cancel`. */
export function registerJobCommands(opt: Command): void {
  opt.command('ls').description('List optimization jobs (DPO family and RL), newest first')
    .option('--status <s>', 'only jobs in this state (queued, running, succeeded, failed, cancelled)')
    .option('--addr <host:port>', 'gRPC address (default TUNELOOP_GRPC_ADDR)')
    .option('--json', 'print JSON')
    .action(async (o: Common & { status?: string }) => {
      const status = o.status ? STATUS_NAMES.indexOf(o.status) : 0;
      if (status <= 0 && o.status) throw new CliError(`--status: must be one of ${STATUS_NAMES.slice(1).join(', ')}, got '${o.status}'`, 2);
      const client = await optimizerClient(o.addr);
      try {
        const jobs: Job[] = [];
        let pageToken = '';
        do {
          const r = await unary<{ jobs: Job[]; nextPageToken: string }>((cb) => client.listOptimizationJobs({ pageSize: 500, pageToken, status }, cb));
          jobs.push(...r.jobs);
          pageToken = r.nextPageToken;
        } while (pageToken);
        const views = jobs.map(jobView);
        emit(!!o.json, views, (v) =>
          v.length === 0 ? 'no optimization jobs' : table(['JOB', 'STATUS', 'OBJECTIVE', 'POLICY', 'STEPS', 'OUTPUT', 'CREATED'], v.map((j) => [j.jobId, j.status, j.objective, j.policy, j.totalSteps, j.output || j.error.slice(0, 40), j.createdAt])),
        );
      } finally {
        client.close();
      }
    });
  opt.command('watch <jobId>').description('Follow an optimization job until it ends (replays its history first)')
    .option('--addr <host:port>', 'gRPC address')
    .option('--json', 'one JSON event per line, then the job')
    .action(async (id: string, o: Common) => {
      const client = await optimizerClient(o.addr);
      try {
        const final = await followJob(client, id, o);
        if (o.json) process.stdout.write(JSON.stringify(jobView(final)) + '\n');
        else emit(false, jobView(final), (v) => `${v.jobId} ${v.status}${v.output ? `: adapter ${v.output}` : ''}${v.error ? `: ${v.error}` : ''}`);
      } finally {
        client.close();
      }
    });
  opt.command('cancel <jobId>').description('Cancel a queued or running optimization job')
    .option('--addr <host:port>', 'gRPC address')
    .option('--json', 'print JSON')
    .action(async (id: string, o: Common) => {
      const client = await optimizerClient(o.addr);
      try {
        const { job } = await unary<{ job?: Job }>((cb) => client.cancelOptimizationJob({ jobId: id }, cb));
        emit(!!o.json, jobView(job as Job), (v) => `${v.jobId} ${v.status}`);
      } finally {
        client.close();
      }
    });
}
