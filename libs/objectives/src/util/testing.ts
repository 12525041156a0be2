// Test helpers for the objectives: central finite differences of a scalar loss with respect to one
// input, compared with tf.grad, and a small float matcher. Used by the *.test.ts files only.
import * as tf from '@tensorflow/tfjs-core';

/** Analytic gradient (tf.grad) and central finite difference of f at x, element by element. */
export function gradientCheck(
  f: (x: tf.Tensor) => tf.Scalar,
  x: number[][] | number[],
  eps = 1e-2,
): { analytic: number[]; numeric: number[] } {
  const shape = Array.isArray(x[0]) ? [x.length, (x[0] as number[]).length] : [x.length];
  const flat = (x as (number | number[])[]).flat() as number[];
  const analytic = tf.tidy(() => Array.from(tf.grad(f)(tf.tensor(flat, shape)).dataSync()));
  const numeric = flat.map((_, i) => {
    const at = (d: number) =>
      tf.tidy(() => {
        const v = flat.slice();
        v[i] += d;
        return f(tf.tensor(v, shape)).dataSync()[0];
      });
    return (at(eps) - at(-eps)) / (2 * eps);
  });
  return { analytic, numeric };
}

export function values(x: tf.Tensor): number[] {
  return Array.from(x.dataSync());
}

export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
export const logSigmoid = (z: number): number => -Math.log1p(Math.exp(-z));
