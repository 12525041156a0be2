// A tiny Llama-named model for the PEFT tests: real trainable dense linears (W^T storage, like
// @tuneloop/model's DenseLinear) in two blocks with q/k/v/o and gate/up/down, norms as variables, and an lm_head.
import * as tf from '@tensorflow/tfjs-core';
import type { LinearModule, PeftHost } from '../src/index.ts';
import { normalTensor } from '../src/core/random.ts';

export class ToyDense implements LinearModule {
  readonly weightT: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1> | null;
  constructor(
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    seed: number,
    withBias = false,
  ) {
    this.weightT = tf.tidy(() => tf.variable(normalTensor([inFeatures, outFeatures], 0.5 / Math.sqrt(inFeatures), seed) as tf.Tensor2D));
    this.bias = withBias ? tf.tidy(() => tf.variable(normalTensor([outFeatures], 0.1, seed + 7) as tf.Tensor1D)) : null;
  }
  setTrainable(t: boolean): void {
    this.weightT.trainable = t;
    if (this.bias) this.bias.trainable = t;
  }
  forward(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy((): tf.Tensor2D => {
      const y: tf.Tensor2D = tf.matMul(x, this.weightT);
      return this.bias ? (tf.add(y, this.bias) as tf.Tensor2D) : y;
    });
  }
  trainableVariables(): tf.Variable[] {
    return this.own().filter((v) => v.trainable);
  }
  own(): tf.Variable[] {
    return this.bias ? [this.weightT, this.bias] : [this.weightT];
  }
  dispose(): void {
    this.weightT.dispose();
    this.bias?.dispose();
  }
}

export const TOY = { hidden: 8, kv: 4, inter: 12, layers: 2, vocab: 6 };

export class ToyModel implements PeftHost {
  private table = new Map<string, LinearModule>();
  private originals: ToyDense[] = [];
  readonly norms = new Map<string, tf.Variable>();

  constructor(seed = 1) {
    const { hidden: d, kv, inter, layers, vocab } = TOY;
    let s = seed * 1000;
    const add = (name: string, inF: number, out: number, bias = false) => {
      const l = new ToyDense(name, inF, out, s++, bias);
      this.table.set(name, l);
      this.originals.push(l);
    };
    for (let i = 0; i < layers; i++) {
      const p = `model.layers.${i}`;
      add(`${p}.self_attn.q_proj`, d, d, true);
      add(`${p}.self_attn.k_proj`, d, kv, true);
      add(`${p}.self_attn.v_proj`, d, kv, true);
      add(`${p}.self_attn.o_proj`, d, d);
      add(`${p}.mlp.gate_proj`, d, inter);
      add(`${p}.mlp.up_proj`, d, inter);
      add(`${p}.mlp.down_proj`, inter, d);
      this.norms.set(`${p}.input_layernorm.weight`, tf.variable(tf.ones([d])));
    }
    this.norms.set('model.norm.weight', tf.variable(tf.ones([d])));
    add('lm_head', d, vocab);
  }

  linears(): Map<string, LinearModule> {
    return new Map(this.table);
  }
  setLinear(name: string, m: LinearModule): void {
    if (!this.table.has(name)) throw new Error(`no linear ${name}`);
    this.table.set(name, m);
  }
  namedWeights(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const l of this.originals) {
      out.set(`${l.name}.weight`, l.weightT);
      if (l.bias) out.set(`${l.name}.bias`, l.bias);
    }
    for (const [k, v] of this.norms) out.set(k, v);
    return out;
  }
  /** Every variable the model owns (to check what receives gradients). */
  allVariables(): tf.Variable[] {
    return [...this.originals.flatMap((l) => l.own()), ...this.norms.values()];
  }

  private lin(name: string, x: tf.Tensor2D): tf.Tensor2D {
    return (this.table.get(name) as LinearModule).forward(x);
  }

  /** [N, hidden] -> [N, vocab]. */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let h = x;
      for (let i = 0; i < TOY.layers; i++) {
        const p = `model.layers.${i}`;
        const hn = tf.mul(h, this.norms.get(`${p}.input_layernorm.weight`) as tf.Tensor) as tf.Tensor2D;
        const k = this.lin(`${p}.self_attn.k_proj`, hn);
        const v = this.lin(`${p}.self_attn.v_proj`, hn);
        const mix = tf.add(tf.mul(this.lin(`${p}.self_attn.q_proj`, hn), tf.tanh(tf.concat([k, k], 1))), tf.concat([v, v], 1)) as tf.Tensor2D;
        h = tf.add(h, this.lin(`${p}.self_attn.o_proj`, mix)) as tf.Tensor2D;
        const g = tf.mul(tf.sigmoid(this.lin(`${p}.mlp.gate_proj`, h)), this.lin(`${p}.mlp.gate_proj`, h));
        const m = tf.mul(g, this.lin(`${p}.mlp.up_proj`, h)) as tf.Tensor2D;
        h = tf.add(h, this.lin(`${p}.mlp.down_proj`, m)) as tf.Tensor2D;
      }
      return this.lin('lm_head', tf.mul(h, this.norms.get('model.norm.weight') as tf.Tensor) as tf.Tensor2D);
    });
  }

  dispose(): void {
    for (const l of this.originals) l.dispose();
    for (const v of this.norms.values()) v.dispose();
  }
}

/** Toy inputs [n, hidden]. */
export function toyInput(n: number, seed: number): tf.Tensor2D {
  return normalTensor([n, TOY.hidden], 1, seed) as tf.Tensor2D;
}
