// A resumable training loop (nanoGPT-style: it knows nothing about the model): seeded epoch shuffles derived
// from (seed, epoch) so any step's batch is reproducible, gradient accumulation, global-norm clipping, AdamW
// with a warmup schedule, trainer callbacks, periodic eval and checkpoints. State = step + weights + moments.
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, clipByGlobalNorm, createRng, globalNorm } from '@tuneloop/engine';
import { exportAdamW, importAdamW, type AdamWState } from './optimizer-state.ts';
import { learningRate, type SchedulerName } from './schedule.ts';

export interface LoopConfig {
  totalSteps: number; // optimizer steps
  batchSize: number; // rows per micro-batch
  gradAccum: number; // micro-batches per optimizer step
  lr: number;
  warmupSteps: number;
  scheduler: SchedulerName;
  weightDecay: number;
  maxGradNorm: number; // 0: no clipping
  evalEvery: number; // 0: only at the end
  checkpointEvery: number; // 0: never
  seed: number;
}

export interface StepReport {
  step: number; // 1-based optimizer step just taken
  totalSteps: number;
  loss: number; // mean over the step's micro-batches
  lr: number;
  gradNorm: number; // global norm before clipping
  tokens: number; // real tokens seen this step
  seconds: number; // wall time of this step
  evalLoss?: number;
}

export interface LoopHooks<T> {
  /** Scalar loss of a micro-batch (call inside the gradient function: objective terms included). */
  loss(rows: T[]): tf.Scalar;
  /** Mean loss over held-out rows, no gradients. */
  evalLoss?(rows: T[]): number;
  /** Real tokens in rows (tokens/s). */
  tokens(rows: T[]): number;
  /** After each optimizer step, with this step's gradients by variable name (AdaLoRA's budget schedule). */
  onStepEnd?(ctx: { step: number; grads: Map<string, tf.Tensor> }): void;
  onStep?(r: StepReport): void | Promise<void>;
  /** Every checkpointEvery steps (not after the last step: the final result is stored instead). */
  onCheckpoint?(state: LoopState): void | Promise<void>;
  /** Checked before each step; true stops the loop (cancel). */
  shouldStop?(): boolean;
}

/** Everything needed to continue exactly: the step, the trainable tensors by name, AdamW's moments. */
export interface LoopState {
  step: number;
  weights: Map<string, { shape: number[]; data: Float32Array }>;
  optimizer: AdamWState;
}

export class SftLoop<T> {
  readonly opt: AdamW;
  private readonly order = new Map<number, number[]>();
  private readonly microPerEpoch: number;
  step = 0;

  constructor(
    readonly cfg: LoopConfig,
    private readonly vars: Map<string, tf.Variable>,
    private readonly train: T[],
    private readonly evalRows: T[],
    private readonly hooks: LoopHooks<T>,
  ) {
    if (train.length === 0) throw new Error('train: no training rows');
    this.opt = new AdamW({ weightDecay: cfg.weightDecay });
    this.microPerEpoch = Math.ceil(train.length / cfg.batchSize);
  }

  /** Optimizer steps for `epochs` passes over `rows` rows. */
  static stepsFor(rows: number, epochs: number, batchSize: number, gradAccum: number): number {
    return Math.max(1, Math.ceil((epochs * Math.ceil(rows / batchSize)) / gradAccum));
  }

  /** Micro-batch `m` (0-based, global): epoch order from createRng(seed, epoch), so it never depends on history. */
  microBatch(m: number): T[] {
    const epoch = Math.floor(m / this.microPerEpoch);
    let order = this.order.get(epoch);
    if (!order) {
      order = createRng((this.cfg.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0).shuffle(this.train.map((_, i) => i));
      this.order.clear();
      this.order.set(epoch, order);
    }
    const at = (m % this.microPerEpoch) * this.cfg.batchSize;
    return order.slice(at, at + this.cfg.batchSize).map((i) => this.train[i]);
  }

  state(): LoopState {
    const weights = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [n, v] of this.vars) weights.set(n, { shape: [...v.shape], data: v.dataSync() as Float32Array });
    return { step: this.step, weights, optimizer: exportAdamW(this.opt, this.vars) };
  }

  restore(s: LoopState): void {
    for (const [n, v] of this.vars) {
      const w = s.weights.get(n);
      if (!w) throw new Error(`checkpoint: has no tensor '${n}'`);
      if (w.shape.join(',') !== v.shape.join(',')) throw new Error(`checkpoint: '${n}' has shape [${w.shape}], the model [${v.shape}]`);
      tf.tidy(() => v.assign(tf.tensor(w.data, w.shape)));
    }
    importAdamW(this.opt, this.vars, s.optimizer);
    this.step = s.step;
  }

  evaluate(): number | undefined {
    if (!this.hooks.evalLoss || this.evalRows.length === 0) return undefined;
    return this.hooks.evalLoss(this.evalRows);
  }

  /** Runs from the current step to totalSteps (or until shouldStop); returns the reports of this run. */
  async run(): Promise<StepReport[]> {
    const { cfg, hooks } = this;
    const names = [...this.vars.keys()];
    const list = names.map((n) => this.vars.get(n) as tf.Variable);
    const reports: StepReport[] = [];
    while (this.step < cfg.totalSteps) {
      if (hooks.shouldStop?.()) break;
      const started = performance.now();
      const lr = learningRate({ name: cfg.scheduler, peakLr: cfg.lr, warmupSteps: cfg.warmupSteps, totalSteps: cfg.totalSteps }, this.step);
      let sum: Record<string, tf.Tensor> | undefined;
      let lossSum = 0;
      let tokens = 0;
      for (let k = 0; k < cfg.gradAccum; k++) {
        const rows = this.microBatch(this.step * cfg.gradAccum + k);
        tokens += hooks.tokens(rows);
        const { value, grads } = tf.variableGrads(() => hooks.loss(rows), list);
        lossSum += value.dataSync()[0];
        value.dispose();
        if (!sum) sum = grads;
        else {
          const prev = sum;
          sum = Object.fromEntries(Object.entries(prev).map(([n, g]) => [n, tf.add(g, grads[n])]));
          tf.dispose([...Object.values(prev), ...Object.values(grads)]);
        }
      }
      const acc = sum as Record<string, tf.Tensor>;
      const mean = cfg.gradAccum === 1 ? acc : Object.fromEntries(Object.entries(acc).map(([n, g]) => [n, tf.div(g, cfg.gradAccum)]));
      let used = mean;
      let gradNorm = NaN;
      if (cfg.maxGradNorm > 0) {
        const c = clipByGlobalNorm(mean, cfg.maxGradNorm);
        used = c.grads;
        gradNorm = c.norm;
      } else {
        const n = globalNorm(Object.values(mean));
        gradNorm = n.dataSync()[0];
        n.dispose();
      }
      this.opt.apply(list, list.map((v) => used[v.name]), lr);
      this.step += 1;
      if (hooks.onStepEnd) {
        const byName = new Map<string, tf.Tensor>(list.map((v) => [v.name, used[v.name]]));
        hooks.onStepEnd({ step: this.step, grads: byName });
      }
      tf.dispose([...new Set([...Object.values(acc), ...Object.values(mean), ...Object.values(used)])]);
      const loss = lossSum / cfg.gradAccum;
      if (!Number.isFinite(loss)) throw new Error(`loss: became ${loss} at step ${this.step} (lower the learning rate?)`);
      const last = this.step === cfg.totalSteps;
      const r: StepReport = { step: this.step, totalSteps: cfg.totalSteps, loss, lr, gradNorm, tokens, seconds: (performance.now() - started) / 1000 };
      if (last || (cfg.evalEvery > 0 && this.step % cfg.evalEvery === 0)) {
        const e = this.evaluate();
        if (e !== undefined) r.evalLoss = e;
      }
      reports.push(r);
      await hooks.onStep?.(r);
      if (!last && cfg.checkpointEvery > 0 && this.step % cfg.checkpointEvery === 0) await hooks.onCheckpoint?.(this.state());
    }
    return reports;
  }

  dispose(): void {
    this.opt.dispose();
  }
}
