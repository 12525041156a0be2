// Stored tensors (safetensors bytes) <-> tfjs float32 tensors. Weights compute in float32 whatever
// their stored dtype; converting back picks a dtype (bfloat16/float16 with round-to-nearest-even).
import * as tf from '@tensorflow/tfjs-core';
import { fromFloat32, toFloat32, type DType, type RawTensor } from '../safetensors/dtypes.ts';

/** A stored tensor as a float32 tfjs tensor of the same shape. */
export function tensorFromRaw(t: RawTensor): tf.Tensor {
  return tf.tensor(toFloat32(t), t.shape, 'float32');
}

/** All stored tensors as float32 tfjs tensors (the caller owns and disposes them). */
export function tensorsFromRaw(weights: Map<string, RawTensor>): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  try {
    for (const [name, t] of weights) out.set(name, tensorFromRaw(t));
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}

/** A tfjs tensor stored as `dtype` (F32 by default; F16 / BF16 round to nearest even). */
export function rawFromTensor(t: tf.Tensor, dtype: DType = 'F32'): RawTensor {
  const values = t.dtype === 'float32' ? (t.dataSync() as Float32Array) : Float32Array.from(t.dataSync() as ArrayLike<number>);
  return fromFloat32(values, dtype, [...t.shape]);
}

/**
 * tfjs tensors -> stored tensors. `dtypeOf(name)` picks each tensor's dtype (e.g. the dtype it was
 * loaded with, so a bfloat16 checkpoint is saved back as bfloat16); default F32.
 */
export function rawFromTensors(weights: Map<string, tf.Tensor>, dtypeOf: (name: string) => DType = () => 'F32'): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [name, t] of weights) out.set(name, rawFromTensor(t, dtypeOf(name)));
  return out;
}
