// Where a job keeps its files on a worker: TUNELOOP_HOME/jobs/<jobId>/ holds checkpoint/ (the last good
// checkpoint, replaced atomically) and trained.json (the done-file: training finished, only storing is left).
import path from 'node:path';

export function jobDir(home: string, jobId: string): string {
  return path.join(home, 'jobs', jobId);
}

export function checkpointDir(home: string, jobId: string): string {
  return path.join(jobDir(home, jobId), 'checkpoint');
}

export function doneFileOf(home: string, jobId: string): string {
  return path.join(jobDir(home, jobId), 'trained.json');
}
