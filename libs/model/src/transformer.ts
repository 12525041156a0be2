// Decoder-only transformer compatible with HF LlamaForCausalLM / Qwen2ForCausalLM (Touvron et al. 2023):
// x = embed(ids); per block x = x + attn(norm1(x)); x = x + mlp(norm2(x)); logits = lm_head(norm(x)).
import * as tf from '@tensorflow/tfjs-core';
import { headDimOf, validateModelConfig, type ModelConfig } from './config.ts';
import { DenseLinear, linearOp, type LinearModule } from './linear.ts';
import { embeddingLookup } from './embedding.ts';
import { rmsNorm } from './rms-norm.ts';
import { ropeTables, type RopeTables } from './rope.ts';
import { selfAttention } from './attention.ts';
import { swiGlu } from './mlp.ts';
import type { KvCache } from './kv-cache.ts';
import { expectedWeightShapes } from './weights.ts';

export interface ForwardInput {
  inputIds: number[][]; // [B, T] token ids
  attentionMask?: number[][]; // [B, T] 1 = token, 0 = padding (left or right); default all 1
}

export interface ForwardOptions {
  cache?: KvCache; // incremental decoding: attends to cached positions, then appends these
  lastOnly?: boolean; // logits of the last position only: [B, 1, V]
}

/** Options of the constructor. */
export interface CausalLMOptions {
  /**
   * Linears given as modules instead of weights (e.g. packed QuantizedLinear from a quantized checkpoint),
   * by HF module path; their `.weight` / `.bias` tensors must then be absent from `weights`. The model
   * takes ownership (it becomes the module's base, see setLinear's releaseBase) and no float32 copy is made.
   */
  linears?: Map<string, LinearModule>;
}

/** Options of setLinear. */
export interface SetLinearOptions {
  /**
   * Drop the base the model holds for this linear (its dense weights are disposed now) and make `module`
   * the new base, owned by the model: namedWeights() exports its (dequantized) weight, dispose() frees it.
   * `module` must not read the old base's tensors.
   */
  releaseBase?: boolean;
}

/** What a non-DenseLinear base may offer to export its dense weight (QuantizedLinear, PEFT's FrozenDense). */
interface DenseExport {
  dequantizedWeight?: () => Float32Array; // HF layout [out, in], row-major
  weightT?: tf.Tensor2D; // [in, out]
  bias?: tf.Tensor1D | Float32Array | null;
  dispose?: () => void;
}

const NEG = -1e9;
const LINEAR_NAME = /^(model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)|lm_head)$/;
const isLinearName = (n: string) => LINEAR_NAME.test(n);
const PROJ = ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const;
const MLP = ['gate_proj', 'up_proj', 'down_proj'] as const;

/** The Llama/Qwen2 causal LM. Weights are tf.Variables; `linears()` is the table PEFT / quant wrap. */
export class CausalLM {
  readonly config: ModelConfig;
  readonly embedTokens: tf.Variable<tf.Rank.R2>; // [V, d]
  readonly norms = new Map<string, tf.Variable<tf.Rank.R1>>(); // HF name -> [d]
  private readonly table = new Map<string, LinearModule>();
  private readonly base = new Map<string, DenseLinear>(); // the dense linears the model was built with
  private readonly owned = new Map<string, LinearModule>(); // bases given as modules or set with releaseBase
  private rope: RopeTables; // grown on demand up to maxPositionEmbeddings (real checkpoints declare 32k-128k)

  /**
   * Builds from HF-layout weights (see expectedWeightShapes); tensors are copied, the caller keeps ownership.
   * Linears in `opts.linears` are taken as given (ownership passes to the model) instead of from `weights`.
   */
  constructor(config: ModelConfig, weights: Map<string, tf.Tensor>, opts: CausalLMOptions = {}) {
    this.config = validateModelConfig(config);
    const shapes = expectedWeightShapes(config);
    const given = opts.linears ?? new Map<string, LinearModule>();
    for (const [name, m] of given) {
      const shape = shapes.get(`${name}.weight`);
      if (!shape || !isLinearName(name)) {
        throw new Error(`linears: '${name}' is not a linear of a ${config.modelType} model with this config`);
      }
      if (m.outFeatures !== shape[0] || m.inFeatures !== shape[1]) {
        throw new Error(`linears: '${name}' must map ${shape[1]} -> ${shape[0]}, got ${m.inFeatures} -> ${m.outFeatures}`);
      }
      for (const t of [`${name}.weight`, `${name}.bias`]) {
        if (weights.has(t)) throw new Error(`weights: '${t}' is given both as a tensor and through linears '${name}'`);
      }
    }
    const fromModule = (n: string) => given.has(n.replace(/\.(weight|bias)$/, ''));
    for (const [name, shape] of shapes) {
      if (fromModule(name)) continue;
      const w = weights.get(name);
      if (!w) throw new Error(`weights: missing tensor '${name}' (expected shape [${shape}])`);
      if (w.shape.join(',') !== shape.join(',')) {
        throw new Error(`weights: '${name}' must have shape [${shape}], got [${w.shape}]`);
      }
    }
    for (const name of weights.keys()) {
      if (!shapes.has(name) && !name.endsWith('rotary_emb.inv_freq')) {
        throw new Error(`weights: unexpected tensor '${name}' for a ${config.modelType} model with this config`);
      }
    }
    const f32 = (n: string) => tf.cast(weights.get(n)!, 'float32');
    this.embedTokens = tf.tidy(() => tf.variable(f32('model.embed_tokens.weight') as tf.Tensor2D));
    const addNorm = (n: string) => this.norms.set(n, tf.tidy(() => tf.variable(f32(`${n}.weight`) as tf.Tensor1D)));
    const addLinear = (n: string, bias: boolean) => {
      const m = given.get(n);
      if (m) {
        this.owned.set(n, m);
        this.table.set(n, m);
        return;
      }
      const w = f32(`${n}.weight`) as tf.Tensor2D;
      const bv = bias ? (f32(`${n}.bias`) as tf.Tensor1D) : null;
      const lin = new DenseLinear(n, w, bv);
      tf.dispose(bv ? [w, bv] : [w]);
      this.base.set(n, lin);
      this.table.set(n, lin);
    };
    for (let i = 0; i < config.numHiddenLayers; i++) {
      const p = `model.layers.${i}`;
      addNorm(`${p}.input_layernorm`);
      addNorm(`${p}.post_attention_layernorm`);
      for (const m of PROJ) addLinear(`${p}.self_attn.${m}`, config.attentionBias && m !== 'o_proj');
      for (const m of MLP) addLinear(`${p}.mlp.${m}`, false);
    }
    addNorm('model.norm');
    if (!config.tieWordEmbeddings) addLinear('lm_head', false);
    this.rope = ropeTables(config, Math.min(config.maxPositionEmbeddings, 1024));
  }

  /** The linear table, by HF module path (includes 'lm_head' when untied). */
  linears(): Map<string, LinearModule> {
    return new Map(this.table);
  }

  /**
   * Replaces one linear (e.g. with a LoRA or quantized wrapper); shapes must match. The base stays
   * resident (namedWeights exports it) unless `releaseBase` hands the slot to `module` (QLoRA memory).
   */
  setLinear(name: string, module: LinearModule, opts: SetLinearOptions = {}): void {
    const cur = this.table.get(name);
    if (!cur) throw new Error(`setLinear: no linear named '${name}'`);
    if (module.inFeatures !== cur.inFeatures || module.outFeatures !== cur.outFeatures) {
      throw new Error(
        `setLinear: '${name}' must map ${cur.inFeatures} -> ${cur.outFeatures}, got ${module.inFeatures} -> ${module.outFeatures}`,
      );
    }
    if (opts.releaseBase) {
      const dense = this.base.get(name);
      if (module === dense) throw new Error(`setLinear: '${name}' releaseBase needs a module other than the base itself`);
      if (dense) {
        dense.dispose();
        this.base.delete(name);
      }
      const prev = this.owned.get(name);
      if (prev && prev !== module) (prev as DenseExport).dispose?.();
      this.owned.set(name, module);
    }
    this.table.set(name, module);
  }

  /** The dense linear the model was built with (the frozen base under a wrapper); undefined once released. */
  baseLinear(name: string): DenseLinear | undefined {
    return this.base.get(name);
  }

  /** The base of a linear: its dense linear, or the module that replaced it with releaseBase / was given. */
  baseModule(name: string): LinearModule | undefined {
    return this.base.get(name) ?? this.owned.get(name);
  }

  /** Every tf.Variable the model owns (embeddings, norms, dense base linears; a packed base has none). */
  variables(): tf.Variable[] {
    const vs: tf.Variable[] = [this.embedTokens, ...this.norms.values()];
    const dense = [...this.base.values(), ...[...this.owned.values()].filter((m) => m instanceof DenseLinear)];
    for (const lin of dense) vs.push(lin.weightT, ...(lin.bias ? [lin.bias] : []));
    return vs;
  }

  /** Variables that currently train: trainable embeddings/norms plus every linear module's trainables. */
  trainableVariables(): tf.Variable[] {
    const vs: tf.Variable[] = [this.embedTokens, ...this.norms.values()].filter((v) => v.trainable);
    const seen = new Set<tf.Variable>(vs);
    for (const m of this.table.values()) {
      for (const v of m.trainableVariables()) {
        if (seen.has(v)) continue;
        seen.add(v);
        vs.push(v);
      }
    }
    return vs;
  }

  /** Freezes (or unfreezes) every weight the model owns; wrappers keep their own variables. */
  setTrainable(trainable: boolean): void {
    this.embedTokens.trainable = trainable;
    for (const v of this.norms.values()) v.trainable = trainable;
    for (const lin of this.base.values()) lin.setTrainable(trainable);
    for (const m of this.owned.values()) if (m instanceof DenseLinear) m.setTrainable(trainable);
  }

  /** Parameters of the base model, packed bases counted by their shape (weight + bias). */
  numParameters(): number {
    let n = this.variables().reduce((a, v) => a + v.size, 0);
    for (const m of this.owned.values()) {
      if (m instanceof DenseLinear) continue;
      n += m.inFeatures * m.outFeatures + ((m as DenseExport).bias ? m.outFeatures : 0);
    }
    return n;
  }

  /**
   * HF-layout weights of the base model (new tensors the caller owns and disposes). Linear weights are
   * [out, in]; a replaced linear reports its base dense weights (merge adapters before exporting a merged model);
   * a released base reports the weight of the module that holds the slot (a packed one is dequantized).
   */
  namedWeights(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    out.set('model.embed_tokens.weight', tf.clone(this.embedTokens));
    for (const [n, v] of this.norms) out.set(`${n}.weight`, tf.clone(v));
    for (const n of this.table.keys()) {
      const lin = this.base.get(n);
      if (lin) {
        out.set(`${n}.weight`, lin.weight());
        if (lin.bias) out.set(`${n}.bias`, tf.clone(lin.bias));
        continue;
      }
      const m = this.owned.get(n) as LinearModule;
      const d = m as DenseExport;
      if (m instanceof DenseLinear) out.set(`${n}.weight`, m.weight());
      else if (typeof d.dequantizedWeight === 'function') out.set(`${n}.weight`, tf.tensor2d(d.dequantizedWeight(), [m.outFeatures, m.inFeatures]));
      else if (d.weightT instanceof tf.Tensor) out.set(`${n}.weight`, tf.transpose(d.weightT));
      else {
        tf.dispose([...out.values()]);
        throw new Error(`namedWeights: '${n}' is held by a module that exposes no dense weight (dequantizedWeight or weightT)`);
      }
      if (d.bias instanceof tf.Tensor) out.set(`${n}.bias`, tf.clone(d.bias));
      else if (d.bias instanceof Float32Array) out.set(`${n}.bias`, tf.tensor1d(d.bias));
    }
    return out;
  }

  /** Logits [B, T, V] (or [B, 1, V] with lastOnly). Differentiable; call inside tf.tidy / tf.grad. */
  forward(input: ForwardInput, opts: ForwardOptions = {}): tf.Tensor3D {
    const c = this.config;
    const ids = input.inputIds;
    const b = ids.length;
    const t = ids[0]?.length ?? 0;
    if (b === 0 || t === 0) throw new Error(`inputIds: must be a non-empty [B, T] array, got [${b}, ${t}]`);
    const mask = input.attentionMask ?? ids.map((r) => r.map(() => 1));
    const flatIds = new Int32Array(b * t);
    for (let i = 0; i < b; i++) {
      if (ids[i].length !== t) throw new Error(`inputIds[${i}]: must have length ${t}, got ${ids[i].length}`);
      if (mask[i]?.length !== t) throw new Error(`attentionMask[${i}]: must have length ${t}, got ${mask[i]?.length}`);
      for (let j = 0; j < t; j++) {
        const id = ids[i][j];
        if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) {
          throw new Error(`inputIds[${i}][${j}]: must be an integer in [0, ${c.vocabSize}), got ${id}`);
        }
        flatIds[i * t + j] = id;
      }
    }
    const cache = opts.cache;
    const past = cache?.length ?? 0;
    if (cache && cache.length > 0 && cache.mask.length !== b) {
      throw new Error(`cache: holds ${cache.mask.length} sequences, got a batch of ${b}`);
    }
    let longest = 0;
    for (let i = 0; i < b; i++) longest = Math.max(longest, (cache?.nextPosition[i] ?? 0) + mask[i].reduce((a, m) => a + (m ? 1 : 0), 0));
    this.ensureRope(longest);
    // Position ids count real tokens only, so left padding does not shift positions: pos = cumsum(mask) - 1.
    const pos = new Int32Array(b * t);
    const nextPos: number[] = [];
    for (let i = 0; i < b; i++) {
      let p = cache?.nextPosition[i] ?? 0;
      for (let j = 0; j < t; j++) {
        pos[i * t + j] = Math.min(Math.max(p - (mask[i][j] ? 0 : 1), 0), this.rope.maxPositions - 1);
        if (mask[i][j]) {
          pos[i * t + j] = p;
          p++;
        }
      }
      nextPos.push(p);
    }
    // Additive mask [B, 1, T, S]: query j (absolute past + j) sees key s if s <= past + j and key s is real.
    const s = past + t;
    const fullMask = mask.map((m, i) => [...(cache?.mask[i] ?? []), ...m]);
    const bias = new Float32Array(b * t * s);
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < t; j++) {
        const row = (i * t + j) * s;
        for (let k = 0; k < s; k++) bias[row + k] = k <= past + j && fullMask[i][k] ? 0 : NEG;
      }
    }
    const logits = tf.tidy(() => {
      const maskBias = tf.tensor4d(bias, [b, 1, t, s]);
      const positions = tf.tensor2d(pos, [b, t], 'int32');
      let x = embeddingLookup(this.embedTokens, tf.tensor1d(flatIds, 'int32')); // [B*T, d]
      const shape = { numHeads: c.numAttentionHeads, numKvHeads: c.numKeyValueHeads, headDim: headDimOf(c) };
      for (let l = 0; l < c.numHiddenLayers; l++) {
        const p = `model.layers.${l}`;
        const lin = (m: string) => this.table.get(`${p}.${m}`)!;
        const attnProj = { q: lin('self_attn.q_proj'), k: lin('self_attn.k_proj'), v: lin('self_attn.v_proj'), o: lin('self_attn.o_proj') };
        const h = rmsNorm(x, this.norms.get(`${p}.input_layernorm`)!, c.rmsNormEps);
        x = tf.add(x, selfAttention(h, attnProj, shape, this.rope, { batch: b, length: t, positions, maskBias, cache, layer: l }));
        const h2 = rmsNorm(x, this.norms.get(`${p}.post_attention_layernorm`)!, c.rmsNormEps);
        x = tf.add(x, swiGlu(h2, { gate: lin('mlp.gate_proj'), up: lin('mlp.up_proj'), down: lin('mlp.down_proj') }));
      }
      let rows = t;
      if (opts.lastOnly) {
        x = tf.reshape(tf.slice(tf.reshape(x, [b, t, -1]), [0, t - 1, 0], [b, 1, -1]), [b, -1]); // [B, T, d] -> [B, 1, d] -> [B, d]
        rows = 1;
      }
      const hN = rmsNorm(x, this.norms.get('model.norm')!, c.rmsNormEps);
      const head = this.table.get('lm_head');
      const out = head ? head.forward(hN) : linearOp(hN, tf.transpose(this.embedTokens)); // [B*rows, V]; tied: h · E^T
      return tf.reshape(out, [b, rows, c.vocabSize]) as tf.Tensor3D; // [B, rows, V]
    });
    if (cache) {
      cache.mask = fullMask;
      cache.nextPosition = nextPos;
    }
    return logits;
  }

  /** Makes the RoPE tables cover `positions` positions (doubling), or throws past maxPositionEmbeddings. */
  private ensureRope(positions: number): void {
    const max = this.config.maxPositionEmbeddings;
    if (positions > max) throw new Error(`inputIds: a sequence needs ${positions} positions, above maxPositionEmbeddings (${max})`);
    if (positions <= this.rope.maxPositions) return;
    let n = this.rope.maxPositions;
    while (n < positions) n *= 2;
    this.rope.cos.dispose();
    this.rope.sin.dispose();
    this.rope = ropeTables(this.config, Math.min(n, max));
  }

  dispose(): void {
    this.embedTokens.dispose();
    for (const v of this.norms.values()) v.dispose();
    for (const lin of this.base.values()) lin.dispose();
    for (const m of this.owned.values()) (m as DenseExport).dispose?.();
    this.rope.cos.dispose();
    this.rope.sin.dispose();
  }
}
