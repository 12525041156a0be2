// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019, Algorithm 2), bias-corrected moments.
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  w <- w - lr (m_hat / (sqrt(v_hat) + eps) + wd w)
import * as tf from '@tensorflow/tfjs-core';

export interface AdamWConfig {
  beta1?: number; // default 0.9
  beta2?: number; // default 0.999
  eps?: number; // default 1e-8
  weightDecay?: number; // default 0.01; decoupled: applied to weights, not to gradients
  /** Which variables get weight decay (default: rank >= 2, i.e. not norms or biases). */
  decay?: (v: tf.Variable) => boolean;
}

/** One variable's moments, flat float32 in the variable's shape (PyTorch: exp_avg, exp_avg_sq). */
export interface AdamWMoments {
  shape: number[];
  m: Float32Array;
  v: Float32Array;
}

/** What a checkpoint needs to resume AdamW exactly: the step count and the moments by variable name. */
export interface AdamWState {
  step: number;
  moments: Map<string, AdamWMoments>;
}

interface Slot {
  m: tf.Variable;
  v: tf.Variable;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly decay: (v: tf.Variable) => boolean;
  private readonly slots = new Map<tf.Variable, Slot>();
  private t = 0;

  constructor(cfg: AdamWConfig = {}) {
    this.beta1 = cfg.beta1 ?? 0.9;
    this.beta2 = cfg.beta2 ?? 0.999;
    this.eps = cfg.eps ?? 1e-8;
    this.weightDecay = cfg.weightDecay ?? 0.01;
    this.decay = cfg.decay ?? ((v) => v.rank >= 2);
    if (!(this.beta1 >= 0 && this.beta1 < 1)) throw new Error(`beta1: must be in [0, 1), got ${this.beta1}`);
    if (!(this.beta2 >= 0 && this.beta2 < 1)) throw new Error(`beta2: must be in [0, 1), got ${this.beta2}`);
    if (!(this.eps > 0)) throw new Error(`eps: must be > 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new Error(`weightDecay: must be >= 0, got ${this.weightDecay}`);
  }

  /** Steps taken so far. */
  get step(): number {
    return this.t;
  }

  /** One update. `grads[i]` is the gradient of `vars[i]`; gradients are not disposed. */
  apply(vars: tf.Variable[], grads: tf.Tensor[], lr: number): void {
    if (vars.length !== grads.length) throw new Error(`grads: expected ${vars.length} gradients, got ${grads.length}`);
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`lr: must be a finite number >= 0, got ${lr}`);
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    for (let i = 0; i < vars.length; i++) {
      const w = vars[i];
      const g = grads[i];
      if (!g) continue;
      let slot = this.slots.get(w);
      if (!slot) {
        slot = {
          m: tf.tidy(() => tf.variable(tf.zerosLike(w), false)),
          v: tf.tidy(() => tf.variable(tf.zerosLike(w), false)),
        };
        this.slots.set(w, slot);
      }
      const { m, v } = slot;
      const wd = this.decay(w) ? this.weightDecay : 0;
      tf.tidy(() => {
        const m1 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        m.assign(m1);
        v.assign(v1);
        const update = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), this.eps));
        const decayed = wd > 0 ? tf.mul(w, 1 - lr * wd) : w;
        w.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    }
  }

  /**
   * The step count and a copy of the moments of every variable in `named` that has been updated, keyed by
   * the caller's names (tfjs variable names differ between processes, so the caller names them).
   */
  getState(named: Map<string, tf.Variable>): AdamWState {
    const moments = new Map<string, AdamWMoments>();
    for (const [name, w] of named) {
      const slot = this.slots.get(w);
      if (!slot) continue;
      moments.set(name, { shape: [...w.shape], m: Float32Array.from(slot.m.dataSync()), v: Float32Array.from(slot.v.dataSync()) });
    }
    return { step: this.t, moments };
  }

  /**
   * Replaces the whole state (all moments are dropped first) by `state`, mapping its names to the
   * variables of `named`. Checks everything before changing anything; the next apply() then computes what
   * the saved optimizer would have.
   */
  setState(named: Map<string, tf.Variable>, state: AdamWState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`state.step: must be an integer >= 0, got ${state.step}`);
    for (const [name, s] of state.moments) {
      const w = named.get(name);
      if (!w) throw new Error(`state.moments: '${name}' is not one of the variables given`);
      if (s.shape.join(',') !== w.shape.join(',')) throw new Error(`state.moments['${name}'].shape: must be [${w.shape}], got [${s.shape}]`);
      for (const k of ['m', 'v'] as const) {
        if (!(s[k] instanceof Float32Array) || s[k].length !== w.size) {
          throw new Error(`state.moments['${name}'].${k}: must be a Float32Array of ${w.size} values, got ${s[k]?.length}`);
        }
      }
    }
    this.dispose();
    for (const [name, s] of state.moments) {
      const w = named.get(name) as tf.Variable;
      this.slots.set(w, {
        m: tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(s.m), w.shape, 'float32'), false)),
        v: tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(s.v), w.shape, 'float32'), false)),
      });
    }
    this.t = state.step;
  }

  /** Frees the moment buffers. */
  dispose(): void {
    for (const { m, v } of this.slots.values()) {
      m.dispose();
      v.dispose();
    }
    this.slots.clear();
  }
}
