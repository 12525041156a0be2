// gRPC test helpers: promisified unary calls and collecting a WatchTrainingJob stream.
import { credentials } from '@grpc/grpc-js';
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
import { collectEvents, unaryCall } from '@tuneloop/service-kit';

export { errorOf, sleep, until } from '@tuneloop/service-kit';

export function trainerClient(target: string): AdapterTrainerServiceClient {
  return new AdapterTrainerServiceClient(target, credentials.createInsecure());
}

/** Promise-returning unary calls of the trainer service. */
export function trainerApi(c: AdapterTrainerServiceClient) {
  return {
    start: (req: StartTrainingRequest) => unaryCall<StartTrainingResponse>((cb) => c.startTraining(req, cb)),
    get: (jobId: string) => unaryCall<GetTrainingJobResponse>((cb) => c.getTrainingJob({ jobId }, cb)),
    list: (status: JobStatus, pageSize = 0, pageToken = '') => unaryCall<ListTrainingJobsResponse>((cb) => c.listTrainingJobs({ status, pageSize, pageToken }, cb)),
    cancel: (jobId: string) => unaryCall<CancelTrainingJobResponse>((cb) => c.cancelTrainingJob({ jobId }, cb)),
  };
}

/** Watches a job until its stream ends; `onEvent` sees each event as it arrives. */
export async function watchJob(client: AdapterTrainerServiceClient, jobId: string, onEvent: (e: JobEvent) => void | Promise<void> = () => {}): Promise<JobEvent[]> {
  return collectEvents(client.watchTrainingJob({ jobId }), onEvent);
}
