// One optimizer that lives across generation batches (RL trainers take several steps per batch and keep
// AdamW moments between batches): gradient of a loss closure, global-norm clipping, AdamW at a constant
// learning rate after an optional linear warmup (Adam's first steps move every weight by ~lr whatever the
// gradient's size, which on a small sharp policy is a large jump), and the divergence guard of @tuneloop/objectives (a non-finite loss or gradient stops
// before the update, so the weights stay those of the last good step).
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, clipByGlobalNorm, type AdamWState } from '@tuneloop/engine';
import { TrainingDivergedError } from '@tuneloop/objectives';
import { RlInputError } from './errors.ts';

export interface PolicyStepResult {
  loss: number;
  gradNorm: number;
  metrics: Record<string, number>; // scalar metric tensors read inside the gradient scope
}

export class PolicyOptimizer {
  private readonly opt: AdamW;
  private steps = 0;
  constructor(
    private readonly variables: tf.Variable[],
    private readonly cfg: { lr: number; clipNorm: number; weightDecay: number; warmupSteps?: number },
  ) {
    if (variables.length === 0) throw new RlInputError('variables', 'nothing to train (0 trainable variables)');
    const w = cfg.warmupSteps ?? 0;
    if (!Number.isInteger(w) || w < 0) throw new RlInputError('warmupSteps', `must be an integer >= 0, got ${w}`);
    this.opt = new AdamW({ weightDecay: cfg.weightDecay });
  }

  /** Learning rate of the next step: lr * (k + 1) / (warmupSteps + 1) for the first warmupSteps steps, then lr. */
  get lr(): number {
    const w = this.cfg.warmupSteps ?? 0;
    return this.steps < w ? (this.cfg.lr * (this.steps + 1)) / (w + 1) : this.cfg.lr;
  }

  /** One update from `lossFn` (built inside the gradient scope; metric tensors must be scalars). */
  step(lossFn: () => { loss: tf.Scalar; metrics: Record<string, tf.Tensor> }): PolicyStepResult {
    let metrics: Record<string, number> = {};
    const { value, grads } = tf.variableGrads(() => {
      const out = lossFn();
      metrics = {};
      for (const [k, t] of Object.entries(out.metrics)) metrics[k] = t.dataSync()[0];
      return out.loss;
    }, this.variables);
    const loss = value.dataSync()[0];
    const named: Record<string, tf.Tensor> = {};
    for (const v of this.variables) named[v.name] = grads[v.name];
    if (!Number.isFinite(loss)) {
      tf.dispose([value, ...Object.values(grads)]);
      throw new TrainingDivergedError(this.steps, `loss is ${loss}`);
    }
    const clipped = clipByGlobalNorm(named, this.cfg.clipNorm);
    tf.dispose([value, ...Object.values(grads)]);
    if (!Number.isFinite(clipped.norm)) {
      tf.dispose(Object.values(clipped.grads));
      throw new TrainingDivergedError(this.steps, `gradient norm is ${clipped.norm}`);
    }
    this.opt.apply(this.variables, this.variables.map((v) => clipped.grads[v.name]), this.lr);
    tf.dispose(Object.values(clipped.grads));
    this.steps++;
    return { loss, gradNorm: clipped.norm, metrics };
  }

  /** AdamW's moments and step count (the warmup counts the same steps), for a checkpoint. */
  getState(named: Map<string, tf.Variable>): AdamWState {
    return this.opt.getState(named);
  }

  /** Restores a checkpoint's state: the next step continues the moments and the warmup where they were. */
  setState(named: Map<string, tf.Variable>, state: AdamWState): void {
    this.opt.setState(named, state);
    this.steps = state.step;
  }

  dispose(): void {
    this.opt.dispose();
  }
}
