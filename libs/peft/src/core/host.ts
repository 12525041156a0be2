// What a model must offer for PEFT to wrap it (CONTRACTS.md): its linear table, and for full /
// partial fine-tuning its named weights as tf.Variables in Hugging Face naming.
import * as tf from '@tensorflow/tfjs-core';
import type { LinearModule } from './linear.ts';

export interface PeftHost {
  linears(): Map<string, LinearModule>;
  setLinear(name: string, module: LinearModule): void;
  /** HF-named weights; full / partial need tf.Variables here. */
  namedWeights?(): Map<string, tf.Tensor>;
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

/** Count of elements of a shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** All parameters of the host: namedWeights when offered, else the linears' weights and biases. */
export function hostParameterCount(host: PeftHost): number {
  if (host.namedWeights) {
    let n = 0;
    for (const t of host.namedWeights().values()) n += t.size;
    return n;
  }
  let n = 0;
  for (const l of host.linears().values()) n += l.inFeatures * l.outFeatures;
  return n;
}

/**
 * Freeze the whole base model (adapter methods train only their own tensors, as PEFT does): every linear
 * that can be frozen and every tf.Variable among namedWeights(). Returns a function that restores the flags.
 */
export function freezeHost(host: PeftHost): () => void {
  const restore: (() => void)[] = [];
  for (const l of host.linears().values()) {
    const d = l as unknown as { setTrainable?: (t: boolean) => void; trainableVariables(): tf.Variable[] };
    const was = l.trainableVariables().length > 0;
    if (typeof d.setTrainable === 'function') {
      d.setTrainable(false);
      if (was) restore.push(() => d.setTrainable?.(true));
    } else if (was) {
      throw new Error(`${l.name}: cannot freeze this linear (it has trainable variables but no setTrainable)`);
    }
  }
  for (const t of host.namedWeights?.().values() ?? []) {
    if (t instanceof tf.Variable && t.trainable) {
      t.trainable = false;
      restore.push(() => {
        t.trainable = true;
      });
    }
  }
  return () => restore.forEach((r) => r());
}
