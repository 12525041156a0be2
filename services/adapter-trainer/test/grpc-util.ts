// gRPC test helpers: promisified unary calls and collecting a WatchTrainingJob stream.
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { AdapterTrainerServiceClient, type JobEvent } from '@tuneloop/proto';

export function trainerClient(target: string): AdapterTrainerServiceClient {
  return new AdapterTrainerServiceClient(target, credentials.createInsecure());
}

/** Calls a unary method; resolves with the response or rejects with the ServiceError. */
export function call<Req, Res>(fn: (req: Req, cb: (err: ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

/** The ServiceError of a call that must fail. */
export async function callError<Req, Res>(fn: (req: Req, cb: (err: ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<ServiceError> {
  try {
    await call(fn, req);
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
