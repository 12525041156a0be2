// A job thread module for the libs/jobs tests: a deterministic toy "training" (one weight, no tfjs) that
// checkpoints, resumes, reports TRL-named metrics, can be told to diverge at a step or to reject its input.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TrainingDivergedError } from '@tuneloop/objectives';
import { InvalidArgumentError } from '@tuneloop/service-kit';
import { readCheckpoint, writeCheckpoint, type JobThreadInput, type JobThreadPost } from '../src/index.ts';

export interface ToySpec {
  steps: number;
  checkpointEvery: number;
  stepMs: number;
  /** throw TrainingDivergedError before this 1-based step */
  divergeAt?: number;
  /** throw an INVALID_ARGUMENT error before training */
  invalid?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The toy update: the loss of step `step` (1-based) is a pure function of the weight before it and the step. */
export const update = (w: number, step: number) => 0.9 * w + 0.1 * (step % 3);

export default async function toyJob(input: JobThreadInput<ToySpec>, post: JobThreadPost): Promise<void> {
  const { spec } = input;
  if (spec.invalid) throw new InvalidArgumentError('spec.steps', 'the toy refuses this input');
  const ck = await readCheckpoint<{ jobId: string }>(input.checkpointDir);
  let w = ck ? ck.state.weights.get('w')!.data[0] : 1;
  let step = ck?.state.step ?? 0;
  post({ type: 'ready', totalSteps: spec.steps, resumedFrom: step, metrics: { trainable_params: 1 } });
  while (step < spec.steps) {
    if (spec.divergeAt === step + 1) throw new TrainingDivergedError(step, 'loss is NaN');
    await sleep(spec.stepMs);
    w = update(w, step + 1);
    step += 1;
    post({ type: 'step', step, totalSteps: spec.steps, loss: w, lr: 0.1, metrics: { 'rewards/accuracies': 0.5, grad_norm: NaN } });
    if (step % spec.checkpointEvery === 0 && step < spec.steps) {
      await writeCheckpoint(input.checkpointDir, { step, weights: new Map([['w', { shape: [1], data: Float32Array.of(w) }]]), optimizer: { step, moments: new Map() } }, { jobId: input.jobId });
      post({ type: 'checkpoint', step });
    }
  }
  const outputDir = path.join(input.home, 'out', input.jobId);
  await mkdir(outputDir, { recursive: true });
  await writeFile(path.join(outputDir, 'w.json'), JSON.stringify({ w }));
  post({ type: 'done', outputDir, metrics: { final_loss: w, steps: step }, result: { w } });
}
