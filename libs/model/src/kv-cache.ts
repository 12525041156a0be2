// Key/value cache for incremental decoding: per layer, rotated keys and values of every position seen so far.
import * as tf from '@tensorflow/tfjs-core';

export class KvCache {
  /** Per layer: keys and values [B, kvHeads, S, headDim] (keys already rotated). */
  readonly layers: { k: tf.Tensor4D; v: tf.Tensor4D }[] = [];
  /** Attention mask over the cached positions, per sequence (1 = real token, 0 = padding). */
  mask: number[][] = [];
  /** Next position id per sequence (number of real tokens seen). */
  nextPosition: number[] = [];

  /** Cached length S. */
  get length(): number {
    return this.mask[0]?.length ?? 0;
  }

  /** Appends this step's keys/values for `layer` and returns the full ones (owned by the cache). */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D } {
    const prev = this.layers[layer];
    if (!prev) {
      this.layers[layer] = { k: tf.keep(tf.clone(k)), v: tf.keep(tf.clone(v)) };
    } else {
      const kk = tf.keep(tf.concat([prev.k, k], 2) as tf.Tensor4D); // [B, kvH, S+T, D]
      const vv = tf.keep(tf.concat([prev.v, v], 2) as tf.Tensor4D); // [B, kvH, S+T, D]
      prev.k.dispose();
      prev.v.dispose();
      this.layers[layer] = { k: kk, v: vv };
    }
    return this.layers[layer];
  }

  dispose(): void {
    for (const l of this.layers) {
      l.k.dispose();
      l.v.dispose();
    }
    this.layers.length = 0;
    this.mask = [];
    this.nextPosition = [];
  }
}
