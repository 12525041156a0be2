// SFT job checkpoints: @tuneloop/jobs' checkpoint files (trainer_state.json, weights.safetensors,
// optimizer.safetensors, written atomically) under TUNELOOP_HOME/jobs/<jobId>/checkpoint, with the SFT fields
// (seed, RNG scheme, loss history) in trainer_state.json.
import { readCheckpoint as readJobCheckpoint, writeCheckpoint as writeJobCheckpoint } from '@tuneloop/jobs';
import type { LoopState } from './train/sft-loop.ts';

export { checkpointDir, STATE_FILE } from '@tuneloop/jobs';

export interface CheckpointMeta {
  jobId: string;
  step: number;
  totalSteps: number;
  seed: number;
  /** batches and shuffles derive from (seed, epoch): nothing else to restore */
  rng: 'counter:(seed,epoch)';
  adamStep: number;
  losses: { step: number; loss: number }[];
  writtenAt: string;
}

export function writeCheckpoint(dir: string, state: LoopState, meta: Omit<CheckpointMeta, 'step' | 'adamStep' | 'writtenAt'>): Promise<void> {
  return writeJobCheckpoint(dir, state, meta);
}

/** The checkpoint in `dir`, or undefined when there is none. */
export async function readCheckpoint(dir: string): Promise<{ meta: CheckpointMeta; state: LoopState } | undefined> {
  return readJobCheckpoint<CheckpointMeta>(dir);
}
