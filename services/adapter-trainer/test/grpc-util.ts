// gRPC test helpers: promisified unary calls and collecting a WatchTrainingJob stream.
import { credentials, type ServiceError } from '@grpc/grpc-js';
import {
  AdapterTrainerServiceClient,
  type CancelTrainingJobResponse,
  type GetTrainingJobResponse,
  type JobEvent,
  type JobStatus,
  type ListTrainingJobsResponse,
  type StartTrainingRequest,
  type StartTrainingResponse,
} from '@tuneloop/proto';

export function trainerClient(target: string): AdapterTrainerServiceClient {
  return new AdapterTrainerServiceClient(target, credentials.createInsecure());
}

type Cb<R> = (err: ServiceError | null, res: R) => void;

function unary<R>(start: (cb: Cb<R>) => unknown): Promise<R> {
  return new Promise((resolve, reject) => start((err, res) => (err ? reject(err) : resolve(res))));
}

/** Promise-returning unary calls of the trainer service. */
export function trainerApi(c: AdapterTrainerServiceClient) {
  return {
    start: (req: StartTrainingRequest) => unary<StartTrainingResponse>((cb) => c.startTraining(req, cb)),
    get: (jobId: string) => unary<GetTrainingJobResponse>((cb) => c.getTrainingJob({ jobId }, cb)),
    list: (status: JobStatus, pageSize = 0, pageToken = '') => unary<ListTrainingJobsResponse>((cb) => c.listTrainingJobs({ status, pageSize, pageToken }, cb)),
    cancel: (jobId: string) => unary<CancelTrainingJobResponse>((cb) => c.cancelTrainingJob({ jobId }, cb)),
  };
}

/** The ServiceError of a call that must fail. */
export async function errorOf(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** Watches a job until its stream ends; `onEvent` sees each event as it arrives. */
export async function watchJob(client: AdapterTrainerServiceClient, jobId: string, onEvent: (e: JobEvent) => void | Promise<void> = () => {}): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  const stream = client.watchTrainingJob({ jobId });
  for await (const msg of stream as AsyncIterable<{ event?: JobEvent }>) {
    if (!msg.event) continue;
    events.push(msg.event);
    await onEvent(msg.event);
  }
  return events;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
