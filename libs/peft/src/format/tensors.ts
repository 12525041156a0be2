// Tensors as plain data for adapter files: name -> { dtype F32, shape, data }, what a safetensors
// writer serialises; conversion to and from tfjs.
import * as tf from '@tensorflow/tfjs-core';

export interface NamedTensor {
  dtype: 'F32';
  shape: number[];
  data: Float32Array;
}

export function toNamed(t: tf.Tensor): NamedTensor {
  return { dtype: 'F32', shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
}

export function fromNamed(key: string, n: NamedTensor): tf.Tensor {
  const size = n.shape.reduce((a, b) => a * b, 1);
  if (n.data.length !== size) throw new Error(`${key}: data has ${n.data.length} values, shape [${n.shape}] needs ${size}`);
  return tf.tensor(n.data, n.shape, 'float32');
}
