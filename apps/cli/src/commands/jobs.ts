// `tuneloop jobs ls|watch|cancel`: training jobs of the adapter-trainer service (state from the jobs KV,
// progress relayed from NATS by WatchTrainingJob).
import type { Command } from 'commander';
import type { Job } from '@tuneloop/proto';
import { CliError, emit, table } from '../output.ts';
import { STATUS_NAMES, jobView, trainerClient, unary, watchJob } from './train.ts';

interface Common {
  addr?: string;
  json?: boolean;
}

async function ls(o: Common & { status?: string }): Promise<void> {
  const status = o.status ? STATUS_NAMES.indexOf(o.status) : 0;
  if (status <= 0 && o.status) throw new CliError(`--status: must be one of ${STATUS_NAMES.slice(1).join(', ')}, got '${o.status}'`, 2);
  const client = await trainerClient(o.addr);
  try {
    const jobs: Job[] = [];
    let pageToken = '';
    do {
      const r = await unary<{ jobs: Job[]; nextPageToken: string }>((cb) => client.listTrainingJobs({ pageSize: 500, pageToken, status }, cb));
      jobs.push(...r.jobs);
      pageToken = r.nextPageToken;
    } while (pageToken);
    const views = jobs.map(jobView);
    emit(!!o.json, views, (v) =>
      v.length === 0 ? 'no training jobs' : table(['JOB', 'STATUS', 'BASE', 'STEPS', 'OUTPUT', 'CREATED'], v.map((j) => [j.jobId, j.status, j.base, j.totalSteps, j.output || j.error.slice(0, 40), j.createdAt])),
    );
  } finally {
    client.close();
  }
}

async function watch(jobId: string, o: Common): Promise<void> {
  const client = await trainerClient(o.addr);
  try {
    const final = await watchJob(client, jobId, { json: o.json });
    if (!o.json) emit(false, jobView(final), (v) => `${v.jobId} ${v.status}${v.output ? `: adapter ${v.output}` : ''}${v.error ? `: ${v.error}` : ''}`);
  } finally {
    client.close();
  }
}

async function cancel(jobId: string, o: Common): Promise<void> {
  const client = await trainerClient(o.addr);
  try {
    const { job } = await unary<{ job?: Job }>((cb) => client.cancelTrainingJob({ jobId }, cb));
    emit(!!o.json, jobView(job as Job), (v) => `${v.jobId} ${v.status}`);
  } finally {
    client.close();
  }
}

export function register(program: Command): void {
  const jobs = program.command('jobs').description('Training jobs: list, follow, cancel.');
  jobs.command('ls').description('List training jobs, newest first')
    .option('--status <s>', 'only jobs in this state (queued, running, succeeded, failed, cancelled)')
    .option('--addr <host:port>', 'gRPC address (default TUNELOOP_GRPC_ADDR)')
    .option('--json', 'print JSON')
    .action((o: Common & { status?: string }) => ls(o));
  jobs.command('watch <jobId>').description('Follow a job with a progress bar until it ends (replays its history first)')
    .option('--addr <host:port>', 'gRPC address')
    .option('--json', 'one JSON event per line')
    .action((id: string, o: Common) => watch(id, o));
  jobs.command('cancel <jobId>').description('Cancel a queued or running job')
    .option('--addr <host:port>', 'gRPC address')
    .option('--json', 'print JSON')
    .action((id: string, o: Common) => cancel(id, o));
}
