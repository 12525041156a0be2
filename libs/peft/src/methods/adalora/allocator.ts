// AdaLoRA's rank allocator as a trainer callback (Zhang et al. 2023, Alg. 1; PEFT RankAllocator):
// sensitivity |p * grad| smoothed by EMA (beta1) times its uncertainty (beta2); a cubic budget from
// init_r * n down to target_r * n over (tinit, tfinal, deltaT, total_step) masks the least important lambdas.
import * as tf from '@tensorflow/tfjs-core';
import type { TrainerCallback } from '../../core/host.ts';
import type { AdaLoraConfig } from './config.ts';
import type { SvdLayer } from './layer.ts';

/** PEFT RankAllocator.budget_schedule: the budget at `step` and whether to mask at this step. */
export function budgetSchedule(step: number, initBudget: number, targetBudget: number, c: AdaLoraConfig): { budget: number; mask: boolean } {
  if (step <= c.tinit) return { budget: initBudget, mask: false };
  if (step > c.total_step - c.tfinal) return { budget: targetBudget, mask: true };
  const mul = 1 - (step - c.tinit) / (c.total_step - c.tfinal - c.tinit);
  return { budget: Math.trunc((initBudget - targetBudget) * mul ** 3 + targetBudget), mask: step % c.deltaT === 0 };
}

interface Smoothed {
  ipt: tf.Tensor; // EMA of sensitivity
  unc: tf.Tensor; // EMA of uncertainty
}

export class RankAllocator implements TrainerCallback {
  readonly name = 'adalora-rank-allocator';
  readonly initBudget: number;
  readonly targetBudget: number;
  private state = new Map<tf.Variable, Smoothed>();
  /** Last allocation: module.lora_E -> kept flags (PEFT's rank_pattern keys). */
  rankPattern: Record<string, boolean[]> | null = null;
  /** The budget applied at the last step. */
  lastBudget: number;

  constructor(
    private readonly layers: Map<string, SvdLayer>,
    private readonly config: AdaLoraConfig,
  ) {
    this.initBudget = [...layers.values()].reduce((n, l) => n + l.rank, 0);
    this.targetBudget = config.target_r * layers.size;
    this.lastBudget = this.initBudget;
  }

  onStepEnd({ step, grads }: { step: number; grads: Map<string, tf.Tensor> }): void {
    const c = this.config;
    const end = c.total_step - c.tfinal;
    if (step < end) {
      this.updateImportance(step, grads);
      const { budget, mask } = budgetSchedule(step, this.initBudget, this.targetBudget, c);
      if (mask) this.maskToBudget(budget);
    } else if (step === end) {
      this.maskToBudget(budgetSchedule(step, this.initBudget, this.targetBudget, c).budget);
      this.resetImportance();
    } else if (this.rankPattern) {
      this.applyPattern(this.rankPattern);
    }
  }

  private updateImportance(step: number, grads: Map<string, tf.Tensor>): void {
    const { beta1, beta2 } = this.config;
    for (const layer of this.layers.values()) {
      for (const n of layer.trainableNames) {
        const p = layer.tensor(n);
        const g = grads.get(p.name);
        if (!g) throw new Error(`adalora: no gradient for '${p.name}' at step ${step} (pass the step's grads keyed by variable name)`);
        const prev = this.state.get(p);
        const next = tf.tidy(() => {
          const ipt = tf.abs(tf.mul(p, g)); // sensitivity |p * dL/dp|
          const avg = prev ? tf.add(tf.mul(prev.ipt, beta1), tf.mul(ipt, 1 - beta1)) : tf.mul(ipt, 1 - beta1);
          const dev = tf.abs(tf.sub(ipt, avg));
          const unc = prev ? tf.add(tf.mul(prev.unc, beta2), tf.mul(dev, 1 - beta2)) : tf.mul(dev, 1 - beta2);
          return { ipt: avg, unc };
        });
        if (prev) {
          prev.ipt.dispose();
          prev.unc.dispose();
        }
        this.state.set(p, next);
      }
    }
  }

  /** Per-triplet score [r]: s(lambda) + mean_in s(P) + mean_out s(Q), with s = EMA ipt * EMA unc. */
  private tripletScores(layer: SvdLayer): Float32Array {
    return tf.tidy(() => {
      const score = (n: string) => {
        const st = this.state.get(layer.tensor(n));
        return st ? tf.mul(st.ipt, st.unc) : tf.zerosLike(layer.tensor(n));
      };
      const sA = tf.mean(score('lora_A'), 0); // P^T [in, r]: mean over in -> [r]
      const sB = tf.mean(score('lora_B'), 1); // Q^T [r, out]: mean over out -> [r]
      const sE = tf.reshape(score('lora_E'), [-1]); // [r]
      return tf.add(tf.add(sE, sA), sB).dataSync() as Float32Array;
    });
  }

  private maskToBudget(budget: number): void {
    this.lastBudget = budget;
    const scores = new Map<string, Float32Array>();
    const all: number[] = [];
    for (const [name, layer] of this.layers) {
      const s = this.tripletScores(layer);
      scores.set(name, s);
      all.push(...s);
    }
    const k = this.initBudget - budget;
    // torch.kthvalue(k): the k-th smallest score; every triplet scoring <= it is masked
    const threshold = k >= 1 ? [...all].sort((a, b) => a - b)[Math.min(k, all.length) - 1] : -Infinity;
    const pattern: Record<string, boolean[]> = {};
    for (const [name, s] of scores) pattern[`${name}.lora_E`] = [...s].map((v) => !(v <= threshold));
    this.rankPattern = pattern;
    this.applyPattern(pattern);
  }

  /** Zero the masked lambdas (PEFT mask_using_rank_pattern). */
  applyPattern(pattern: Record<string, boolean[]>): void {
    for (const [name, layer] of this.layers) {
      const keep = pattern[`${name}.lora_E`];
      if (!keep) continue;
      const e = layer.tensor('lora_E');
      tf.tidy(() => e.assign(tf.mul(e, tf.tensor2d(keep.map((b) => (b ? 1 : 0)), [keep.length, 1]))));
    }
  }

  private resetImportance(): void {
    for (const s of this.state.values()) {
      s.ipt.dispose();
      s.unc.dispose();
    }
    this.state.clear();
  }

  dispose(): void {
    this.resetImportance();
  }
}
