// A reward model: the CausalLM transformer trunk and a scalar head read at the last non-pad token, as Hugging
// Face LlamaForSequenceClassification with num_labels = 1 (head `score.weight` [1, d], no bias; Ouyang et al. 2022).
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@tuneloop/engine';
import { headDimOf } from './config.ts';
import { embeddingLookup } from './embedding.ts';
import { rmsNorm } from './rms-norm.ts';
import { ropeTables, type RopeTables } from './rope.ts';
import { selfAttention } from './attention.ts';
import { swiGlu } from './mlp.ts';
import type { CausalLM, ForwardInput } from './transformer.ts';

const NEG = -1e9;
export const REWARD_HEAD_NAME = 'score.weight';

export class RewardModel {
  readonly trunk: CausalLM;
  /** The head W^T [d, 1] (HF stores `score.weight` as [1, d]). */
  readonly head: tf.Variable<tf.Rank.R2>;
  private rope: RopeTables;

  /** Wraps `trunk` (kept, not copied). `head` [1, d] in HF layout, else N(0, 1/d) from `seed`. */
  constructor(trunk: CausalLM, opts: { head?: tf.Tensor; seed?: number } = {}) {
    const d = trunk.config.hiddenSize;
    if (opts.head && opts.head.shape.join(',') !== `1,${d}`) throw new Error(`${REWARD_HEAD_NAME}: must have shape [1, ${d}], got [${opts.head.shape}]`);
    this.trunk = trunk;
    this.head = tf.tidy(() =>
      tf.variable((opts.head ? tf.transpose(tf.cast(opts.head, 'float32')) : createRng(opts.seed ?? 0).normalTensor([d, 1], 1 / Math.sqrt(d))) as tf.Tensor2D),
    );
    this.rope = ropeTables(trunk.config, Math.min(trunk.config.maxPositionEmbeddings, 256));
  }

  /**
   * Final normed hidden states [B*T, d] of the trunk (the CausalLM forward without the LM head; adapters
   * installed with setLinear take part). Differentiable.
   */
  hidden(input: ForwardInput): tf.Tensor2D {
    const c = this.trunk.config;
    const ids = input.inputIds;
    const b = ids.length;
    const t = ids[0]?.length ?? 0;
    if (b === 0 || t === 0) throw new Error(`inputIds: must be a non-empty [B, T] array, got [${b}, ${t}]`);
    const mask = input.attentionMask ?? ids.map((r) => r.map(() => 1));
    const flat = new Int32Array(b * t);
    const pos = new Int32Array(b * t);
    const bias = new Float32Array(b * t * t);
    let longest = 0;
    for (let i = 0; i < b; i++) {
      if (ids[i].length !== t || mask[i]?.length !== t) throw new Error(`inputIds[${i}] / attentionMask[${i}]: must have length ${t}`);
      let p = 0;
      for (let j = 0; j < t; j++) {
        const id = ids[i][j];
        if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) throw new Error(`inputIds[${i}][${j}]: must be an integer in [0, ${c.vocabSize}), got ${id}`);
        flat[i * t + j] = id;
        pos[i * t + j] = mask[i][j] ? p++ : Math.max(p - 1, 0); // positions count real tokens (left padding safe)
        for (let k = 0; k < t; k++) bias[(i * t + j) * t + k] = k <= j && mask[i][k] ? 0 : NEG;
      }
      longest = Math.max(longest, p);
    }
    if (longest > c.maxPositionEmbeddings) throw new Error(`inputIds: a sequence needs ${longest} positions, above maxPositionEmbeddings (${c.maxPositionEmbeddings})`);
    if (longest > this.rope.maxPositions) {
      this.rope.cos.dispose();
      this.rope.sin.dispose();
      this.rope = ropeTables(c, Math.min(c.maxPositionEmbeddings, 2 * longest));
    }
    const lin = this.trunk.linears();
    return tf.tidy(() => {
      const maskBias = tf.tensor4d(bias, [b, 1, t, t]);
      const positions = tf.tensor2d(pos, [b, t], 'int32');
      const shape = { numHeads: c.numAttentionHeads, numKvHeads: c.numKeyValueHeads, headDim: headDimOf(c) };
      let x = embeddingLookup(this.trunk.embedTokens, tf.tensor1d(flat, 'int32')); // [B*T, d]
      for (let l = 0; l < c.numHiddenLayers; l++) {
        const p = `model.layers.${l}`;
        const m = (n: string) => lin.get(`${p}.${n}`)!;
        const h = rmsNorm(x, this.trunk.norms.get(`${p}.input_layernorm`)!, c.rmsNormEps);
        const attn = { q: m('self_attn.q_proj'), k: m('self_attn.k_proj'), v: m('self_attn.v_proj'), o: m('self_attn.o_proj') };
        x = tf.add(x, selfAttention(h, attn, shape, this.rope, { batch: b, length: t, positions, maskBias, layer: l }));
        const h2 = rmsNorm(x, this.trunk.norms.get(`${p}.post_attention_layernorm`)!, c.rmsNormEps);
        x = tf.add(x, swiGlu(h2, { gate: m('mlp.gate_proj'), up: m('mlp.up_proj'), down: m('mlp.down_proj') }));
      }
      return rmsNorm(x, this.trunk.norms.get('model.norm')!, c.rmsNormEps); // [B*T, d]
    });
  }

  /** One scalar reward per sequence [B], read at its last non-pad token (left or right padding). */
  scores(input: ForwardInput): tf.Tensor1D {
    const b = input.inputIds.length;
    const t = input.inputIds[0]?.length ?? 0;
    const mask = input.attentionMask ?? input.inputIds.map((r) => r.map(() => 1));
    const pick = new Float32Array(b * b * t); // [B, B*T] one-hot rows selecting each sequence's last real token
    for (let i = 0; i < b; i++) {
      const last = mask[i]?.lastIndexOf(1) ?? -1;
      if (last < 0) throw new Error(`attentionMask[${i}]: has no real token (an empty sequence cannot be scored)`);
      pick[i * b * t + i * t + last] = 1;
    }
    return tf.tidy(() => {
      const h = this.hidden(input); // [B*T, d]
      const last = tf.matMul(tf.tensor2d(pick, [b, b * t]), h); // [B, B*T] · [B*T, d] = [B, d]
      return tf.reshape(tf.matMul(last, this.head), [b]) as tf.Tensor1D; // [B, d] · [d, 1] -> [B]
    });
  }

  /** The head variable plus whatever trains in the trunk (LoRA adapters, or every weight for full training). */
  trainableVariables(): tf.Variable[] {
    return [this.head, ...this.trunk.trainableVariables()];
  }

  /** The head in HF layout: `score.weight` [1, d] (a new tensor the caller owns). */
  namedHead(): Map<string, tf.Tensor> {
    return new Map([[REWARD_HEAD_NAME, tf.tidy(() => tf.transpose(this.head))]]);
  }

  /** Frees the head and the RoPE tables; the trunk stays with its owner. */
  dispose(): void {
    this.head.dispose();
    this.rope.cos.dispose();
    this.rope.sin.dispose();
  }
}
