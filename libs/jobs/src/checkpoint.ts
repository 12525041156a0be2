// Job checkpoints, written atomically (temp folder + rename) so a checkpoint on disk is always a whole, good one:
// trainer_state.json (step, AdamW step, the job's own fields), weights.safetensors (trainable tensors by name),
// optimizer.safetensors (AdamW exp_avg / exp_avg_sq per tensor, PyTorch's names).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AdamWState } from '@tuneloop/engine';
import { recoverFolder, writeFolderAtomic } from '@tuneloop/files';
import { fromFloat32, parseSafetensors, serializeSafetensors, toFloat32, type RawTensor } from '@tuneloop/model';

export const STATE_FILE = 'trainer_state.json';
const WEIGHTS_FILE = 'weights.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';

/** Everything needed to continue exactly: the step, the trainable tensors by name, AdamW's state. */
export interface TrainState {
  step: number;
  weights: Map<string, { shape: number[]; data: Float32Array }>;
  optimizer: AdamWState;
}

/** A plain Uint8Array copy: a Node Buffer's slice() is a view, which toFloat32's copy-by-slice relies on not being. */
async function readBytes(file: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(file));
}

/** Writes `state` plus `meta` (any JSON object; `step`, `adamStep`, `writtenAt` are added) to `dir`, atomically. */
export async function writeCheckpoint<M extends object>(dir: string, state: TrainState, meta: M): Promise<void> {
  const weights = new Map<string, RawTensor>();
  for (const [n, w] of state.weights) weights.set(n, fromFloat32(w.data, 'F32', w.shape));
  const moments = new Map<string, RawTensor>();
  for (const [n, s] of state.optimizer.moments) {
    moments.set(`${n}.exp_avg`, fromFloat32(s.m, 'F32', s.shape));
    moments.set(`${n}.exp_avg_sq`, fromFloat32(s.v, 'F32', s.shape));
  }
  const full = { ...meta, step: state.step, adamStep: state.optimizer.step, writtenAt: new Date().toISOString() };
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
export async function readCheckpoint<M extends object>(dir: string): Promise<{ meta: M & { step: number; adamStep: number; writtenAt: string }; state: TrainState } | undefined> {
  let metaText: string;
  await recoverFolder(dir); // a worker killed while replacing the checkpoint leaves it beside its name
  try {
    metaText = await readFile(path.join(dir, STATE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const meta = JSON.parse(metaText) as M & { step: number; adamStep: number; writtenAt: string };
  const weights: TrainState['weights'] = new Map();
  for (const [n, t] of parseSafetensors(await readBytes(path.join(dir, WEIGHTS_FILE))).tensors) weights.set(n, { shape: [...t.shape], data: toFloat32(t) });
  const moments: AdamWState['moments'] = new Map();
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
