// A model-agnostic training loop: loss closure + variables in, AdamW with warmup+cosine and global-norm
// clipping per step, callbacks out. The loop knows nothing about the model (nanoGPT-style separation).
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, type AdamWConfig } from './adamw.ts';
import { clipByGlobalNorm } from './clip.ts';
import { cosineWithWarmup } from './schedule.ts';

export interface TrainLoopConfig {
  steps: number; // optimizer steps
  peakLr: number;
  warmupSteps: number;
  minLr?: number; // cosine floor, default peakLr / 10
  clipNorm?: number; // global-norm clip, default 1; 0 = off
  adamw?: AdamWConfig;
}

export interface StepInfo {
  step: number; // 0-based
  loss: number;
  lr: number;
  gradNorm: number; // before clipping
}

/**
 * Runs `cfg.steps` steps of: loss(step) -> grads of `variables` -> clip -> AdamW(lr(step)).
 * `onStep` may be async (e.g. to yield to the event loop or evaluate); returning false stops early.
 */
export async function trainLoop(
  variables: tf.Variable[],
  loss: (step: number) => tf.Scalar,
  cfg: TrainLoopConfig,
  onStep?: (info: StepInfo) => void | boolean | Promise<void | boolean>,
): Promise<StepInfo[]> {
  if (!Number.isInteger(cfg.steps) || cfg.steps < 1) throw new Error(`steps: must be an integer >= 1, got ${cfg.steps}`);
  if (variables.length === 0) throw new Error('variables: nothing to train (0 trainable variables)');
  const opt = new AdamW(cfg.adamw);
  const sched = { peakLr: cfg.peakLr, warmupSteps: cfg.warmupSteps, totalSteps: cfg.steps, minLr: cfg.minLr ?? cfg.peakLr / 10 };
  const clip = cfg.clipNorm ?? 1;
  const history: StepInfo[] = [];
  try {
    for (let step = 0; step < cfg.steps; step++) {
      const lr = cosineWithWarmup(sched, step);
      const { value, grads } = tf.variableGrads(() => loss(step), variables);
      const named: Record<string, tf.Tensor> = {};
      for (const v of variables) named[v.name] = grads[v.name];
      let gradNorm = NaN;
      let used = named;
      if (clip > 0) {
        const c = clipByGlobalNorm(named, clip);
        gradNorm = c.norm;
        used = c.grads;
      }
      opt.apply(variables, variables.map((v) => used[v.name]), lr);
      const info: StepInfo = { step, loss: value.dataSync()[0], lr, gradNorm };
      tf.dispose([value, ...Object.values(grads), ...(used === named ? [] : Object.values(used))]);
      history.push(info);
      if (!Number.isFinite(info.loss)) throw new Error(`loss: became ${info.loss} at step ${step}`);
      if ((await onStep?.(info)) === false) break;
    }
  } finally {
    opt.dispose();
  }
  return history;
}
