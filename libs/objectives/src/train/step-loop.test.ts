// runSteps resume and unused variables: 3 steps, then the AdamW state (getState / setState) and the weights
// carried into a fresh run starting at step 3, end where 6 uninterrupted steps end (same schedule, same moments);
// a variable the loss does not reach gets no update instead of failing the clip.
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, initBackend } from '@tuneloop/engine';
import { beforeAll, expect, it } from 'vitest';
import { runSteps } from './step-loop.ts';

beforeAll(() => initBackend({ backend: 'cpu', quiet: true }));

const target = [0.5, -1.5, 2];
const lossAt = (w: tf.Variable) => (step: number) => ({ loss: tf.sum(tf.mul(step + 1, tf.square(tf.sub(w, tf.tensor1d(target))))) as tf.Scalar, metrics: {} });

it('continues exactly from startStep with a restored optimizer; skips a variable without a gradient', async () => {
  const cfg = { steps: 6, lr: 0.1, warmupSteps: 2 };
  const full = tf.variable(tf.tensor1d([0, 0, 0]), true, 'w-full');
  const unused = tf.variable(tf.tensor1d([7]), true, 'unused');
  const h = await runSteps([full, unused], lossAt(full), cfg);
  expect(h.map((m) => m.step)).toEqual([0, 1, 2, 3, 4, 5]);
  expect(Array.from(unused.dataSync())).toEqual([7]);

  const first = tf.variable(tf.tensor1d([0, 0, 0]), true, 'w-first');
  const opt1 = new AdamW({ weightDecay: 0 });
  await runSteps([first], lossAt(first), { ...cfg, optimizer: opt1 }, (m) => m.step < 2);
  const saved = opt1.getState(new Map([['w', first]]));
  expect(saved.step).toBe(3);
  const second = tf.variable(first.clone(), true, 'w-second');
  const opt2 = new AdamW({ weightDecay: 0 });
  opt2.setState(new Map([['w', second]]), saved);
  const rest = await runSteps([second], lossAt(second), { ...cfg, optimizer: opt2, startStep: 3 });
  expect(rest.map((m) => m.step)).toEqual([3, 4, 5]);
  rest.forEach((m, i) => expect(m.lr).toBeCloseTo(h[3 + i].lr, 12));
  const got = Array.from(second.dataSync());
  Array.from(full.dataSync()).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
  tf.dispose([full, unused, first, second]);
  opt1.dispose();
  opt2.dispose();
});
