// The optimizer loop of the alignment trainers: AdamW, warmup + cosine, global-norm clipping, TRL-named metrics
// per step, and a divergence guard: a non-finite loss or gradient stops before the update is applied, so the
// weights stay those of the last good step.
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, clipByGlobalNorm, cosineWithWarmup } from '@tuneloop/engine';

/** Training stopped on a non-finite loss or gradient; `step` is 0-based, the weights are the last good ones. */
export class TrainingDivergedError extends Error {
  override readonly name = 'TrainingDivergedError';
  readonly code = 'FAILED';
  readonly retryable = false;
  constructor(
    readonly step: number,
    readonly reason: string,
  ) {
    super(`training diverged at step ${step}: ${reason}`);
  }
}

export interface StepLoopConfig {
  steps: number;
  lr: number;
  warmupSteps?: number; // default 10% of steps
  clipNorm?: number; // default 1
  weightDecay?: number; // default 0
  /** first step to run (0-based; resuming a checkpoint: the number of steps already taken); the schedule continues */
  startStep?: number;
  /** a caller-owned AdamW (restored with setState to resume); not disposed here. Default: a fresh one, disposed. */
  optimizer?: AdamW;
}

export interface StepMetrics {
  step: number;
  lr: number;
  gradNorm: number;
  metrics: Record<string, number>; // 'loss' and TRL's names
}

/**
 * Runs `cfg.steps` steps. `lossAt(step)` returns the loss and metric tensors (scalars) built inside the
 * gradient scope; `onStep` may return false to stop (cancel).
 */
export async function runSteps(
  variables: tf.Variable[],
  lossAt: (step: number) => { loss: tf.Scalar; metrics: Record<string, tf.Tensor> },
  cfg: StepLoopConfig,
  onStep?: (m: StepMetrics) => void | boolean | Promise<void | boolean>,
): Promise<StepMetrics[]> {
  if (!Number.isInteger(cfg.steps) || cfg.steps < 1) throw new Error(`steps: must be an integer >= 1, got ${cfg.steps}`);
  if (!(cfg.lr > 0)) throw new Error(`lr: must be > 0, got ${cfg.lr}`);
  if (variables.length === 0) throw new Error('variables: nothing to train (0 trainable variables)');
  const start = cfg.startStep ?? 0;
  if (!Number.isInteger(start) || start < 0 || start > cfg.steps) throw new Error(`startStep: must be an integer in 0..${cfg.steps}, got ${cfg.startStep}`);
  const opt = cfg.optimizer ?? new AdamW({ weightDecay: cfg.weightDecay ?? 0 });
  const sched = { peakLr: cfg.lr, warmupSteps: cfg.warmupSteps ?? Math.floor(cfg.steps / 10), totalSteps: cfg.steps, minLr: cfg.lr / 10 };
  const history: StepMetrics[] = [];
  try {
    for (let step = start; step < cfg.steps; step++) {
      const lr = cosineWithWarmup(sched, step);
      let metrics: Record<string, number> = {};
      const { value, grads } = tf.variableGrads(() => {
        const out = lossAt(step);
        metrics = { loss: out.loss.dataSync()[0] };
        for (const [k, t] of Object.entries(out.metrics)) metrics[k] = t.size === 0 ? NaN : tf.tidy(() => tf.mean(t).dataSync()[0]);
        return out.loss;
      }, variables);
      // a variable the loss does not reach (e.g. the LM head under a reward model's score head) has no gradient: skipped
      const reached = variables.filter((v) => grads[v.name] != null);
      const named: Record<string, tf.Tensor> = {};
      for (const v of reached) named[v.name] = grads[v.name];
      const loss = value.dataSync()[0];
      if (!Number.isFinite(loss)) {
        tf.dispose([value, ...Object.values(grads)]);
        throw new TrainingDivergedError(step, `loss is ${loss}`);
      }
      const clipped = clipByGlobalNorm(named, cfg.clipNorm ?? 1);
      if (!Number.isFinite(clipped.norm)) {
        tf.dispose([value, ...Object.values(grads), ...Object.values(clipped.grads)]);
        throw new TrainingDivergedError(step, `gradient norm is ${clipped.norm}`);
      }
      opt.apply(reached, reached.map((v) => clipped.grads[v.name]), lr);
      tf.dispose([value, ...Object.values(grads), ...Object.values(clipped.grads)]);
      const info = { step, lr, gradNorm: clipped.norm, metrics };
      history.push(info);
      if ((await onStep?.(info)) === false) break;
    }
  } finally {
    if (!cfg.optimizer) opt.dispose();
  }
  return history;
}
