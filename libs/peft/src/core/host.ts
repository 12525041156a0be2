// What a model must offer for PEFT to wrap it (CONTRACTS.md): its linear table and setLinear; for full /
// partial fine-tuning and freezing, its other weights as HF-named tf.Variables (namedVariables(), or
// @tuneloop/model CausalLM's public embedTokens / norms).
import * as tf from '@tensorflow/tfjs-core';
import type { LinearModule } from './linear.ts';

export interface PeftHost {
  linears(): Map<string, LinearModule>;
  setLinear(name: string, module: LinearModule): void;
  /** The non-linear weights (embeddings, norms) by HF weight name, as the variables themselves. */
  namedVariables?(): Map<string, tf.Variable>;
}

/** Called by the trainer after each optimizer step (AdaLoRA's budget schedule is one). */
export interface TrainerCallback {
  readonly name: string;
  /** `step` counts optimizer steps from 1; `grads` maps tf.Variable.name to this step's gradient. */
  onStepEnd(ctx: { step: number; grads: Map<string, tf.Tensor> }): void;
}

/** An extra term the trainer adds to the loss (AdaLoRA's orthogonality regulariser). */
export interface ObjectiveTerm {
  readonly name: string;
  /** The weighted term, a scalar tensor (call inside the gradient function). */
  compute(): tf.Scalar;
}

/** CausalLM's public fields, used when a host has no namedVariables(). */
interface CausalLmLike {
  embedTokens?: unknown;
  norms?: unknown;
}

/** The host's non-linear weights by HF name ('model.embed_tokens.weight', 'model.norm.weight', ...). */
export function nonLinearVariables(host: PeftHost): Map<string, tf.Variable> {
  if (host.namedVariables) return host.namedVariables();
  const h = host as unknown as CausalLmLike;
  const out = new Map<string, tf.Variable>();
  if (h.embedTokens instanceof tf.Variable) out.set('model.embed_tokens.weight', h.embedTokens);
  if (h.norms instanceof Map) for (const [n, v] of h.norms) if (v instanceof tf.Variable) out.set(`${n}.weight`, v);
  return out;
}

/** Whether a linear carries a bias (DenseLinear.bias / QuantizedLinear.bias). */
export function hasBias(l: LinearModule): boolean {
  const b = (l as unknown as { bias?: unknown }).bias;
  return b !== undefined && b !== null;
}

/** All parameters of the host: linear weights and biases, and the other variables. */
export function hostParameterCount(host: PeftHost): number {
  let n = 0;
  for (const l of host.linears().values()) n += l.inFeatures * l.outFeatures + (hasBias(l) ? l.outFeatures : 0);
  for (const v of nonLinearVariables(host).values()) n += v.size;
  return n;
}

/**
 * Freeze the whole base model (adapter methods train only their own tensors, as PEFT does): every linear
 * and every non-linear variable. Returns a function that restores the flags.
 */
export function freezeHost(host: PeftHost): () => void {
  const restore: (() => void)[] = [];
  for (const l of host.linears().values()) {
    const d = l as unknown as { setTrainable?: (t: boolean) => void };
    const was = l.trainableVariables().length > 0;
    if (typeof d.setTrainable === 'function') {
      d.setTrainable(false);
      if (was) restore.push(() => d.setTrainable?.(true));
    } else if (was) {
      throw new Error(`${l.name}: cannot freeze this linear (it has trainable variables but no setTrainable)`);
    }
  }
  for (const v of nonLinearVariables(host).values()) {
    if (!v.trainable) continue;
    v.trainable = false;
    restore.push(() => {
      v.trainable = true;
    });
  }
  return () => restore.forEach((r) => r());
}
