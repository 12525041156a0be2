// Job checkpoints under TUNELOOP_HOME/jobs/<jobId>/checkpoint, written atomically (temp folder + rename):
// trainer_state.json (step, seed, RNG scheme, loss history), weights.safetensors (trainable tensors by name),
// optimizer.safetensors (AdamW exp_avg / exp_avg_sq per tensor).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFolderAtomic } from '@tuneloop/files';
import { fromFloat32, parseSafetensors, serializeSafetensors, toFloat32, type RawTensor } from '@tuneloop/model';
import type { LoopState } from './train/sft-loop.ts';

export const STATE_FILE = 'trainer_state.json';
const WEIGHTS_FILE = 'weights.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';

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

/** A plain Uint8Array copy: a Node Buffer's slice() is a view, which toFloat32's copy-by-slice relies on not being. */
async function readBytes(file: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(file));
}

export function checkpointDir(home: string, jobId: string): string {
  return path.join(home, 'jobs', jobId, 'checkpoint');
}

export async function writeCheckpoint(dir: string, state: LoopState, meta: Omit<CheckpointMeta, 'step' | 'adamStep' | 'writtenAt'>): Promise<void> {
  const weights = new Map<string, RawTensor>();
  for (const [n, w] of state.weights) weights.set(n, fromFloat32(w.data, 'F32', w.shape));
  const moments = new Map<string, RawTensor>();
  for (const [n, s] of state.optimizer.moments) {
    moments.set(`${n}.exp_avg`, fromFloat32(s.m, 'F32', s.shape));
    moments.set(`${n}.exp_avg_sq`, fromFloat32(s.v, 'F32', s.shape));
  }
  const full: CheckpointMeta = { ...meta, step: state.step, adamStep: state.optimizer.step, writtenAt: new Date().toISOString() };
  await writeFolderAtomic(
    dir,
    new Map<string, string | Uint8Array>([
      [WEIGHTS_FILE, serializeSafetensors(weights, { format: 'pt' })],
      [OPTIMIZER_FILE, serializeSafetensors(moments, { format: 'pt' })],
      [STATE_FILE, JSON.stringify(full, null, 2) + '\n'],
    ]),
    (names) => names.includes(STATE_FILE),
  );
}

/** The checkpoint in `dir`, or undefined when there is none. */
export async function readCheckpoint(dir: string): Promise<{ meta: CheckpointMeta; state: LoopState } | undefined> {
  let metaText: string;
  try {
    metaText = await readFile(path.join(dir, STATE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const meta = JSON.parse(metaText) as CheckpointMeta;
  const weights: LoopState['weights'] = new Map();
  for (const [n, t] of parseSafetensors(await readBytes(path.join(dir, WEIGHTS_FILE))).tensors) weights.set(n, { shape: [...t.shape], data: toFloat32(t) });
  const moments: LoopState['optimizer']['moments'] = new Map();
  const opt = parseSafetensors(await readBytes(path.join(dir, OPTIMIZER_FILE))).tensors;
  for (const [key, t] of opt) {
    if (!key.endsWith('.exp_avg')) continue;
    const n = key.slice(0, -'.exp_avg'.length);
    const sq = opt.get(`${n}.exp_avg_sq`);
    if (!sq) throw new Error(`checkpoint ${dir}: ${n} has exp_avg but no exp_avg_sq`);
    moments.set(n, { shape: [...t.shape], m: toFloat32(t), v: toFloat32(sq) });
  }
  return { meta, state: { step: meta.step, weights, optimizer: { step: meta.adamStep, moments } } };
}
