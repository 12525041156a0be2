// Reward model: the trunk matches CausalLM (lm_head of its hidden states = the model's logits), the score
// is read at the last real token under left and right padding, head gradients match finite differences.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { RewardModel } from './reward-model.ts';
import { TINY_LLAMA, TINY_QWEN2, tinyModel } from './test-fixtures.ts';

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(tol);
};

describe('RewardModel', () => {
  it.each([['llama', TINY_LLAMA], ['qwen2', TINY_QWEN2]] as const)('trunk hidden states reproduce the %s logits', (_n, cfg) => {
    const lm = tinyModel(cfg, 3);
    const rm = new RewardModel(lm, { seed: 1 });
    const input = { inputIds: [[0, 0, 1, 5, 7], [1, 4, 9, 2, 3]], attentionMask: [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]] };
    const logits = tf.tidy(() => tf.reshape(lm.forward(input), [10, cfg.vocabSize]));
    const fromHidden = tf.tidy(() => {
      const h = rm.hidden(input);
      const head = lm.linears().get('lm_head');
      return head ? head.forward(h) : tf.matMul(h, lm.embedTokens, false, true);
    });
    const mask = input.attentionMask.flat();
    const l = logits.arraySync() as number[][];
    const f = fromHidden.arraySync() as number[][];
    mask.forEach((m, i) => m && close(f[i], l[i], 1e-4));
    tf.dispose([logits, fromHidden]);
    rm.dispose();
    lm.dispose();
  });

  it('scores at the last non-pad token: left, right and no padding agree', () => {
    const lm = tinyModel(TINY_LLAMA, 4);
    const rm = new RewardModel(lm, { seed: 2 });
    const seq = [1, 6, 8, 3, 2];
    const alone = rm.scores({ inputIds: [seq] });
    const left = rm.scores({ inputIds: [[0, 0, ...seq], [1, 5, 5, 5, 5, 5, 2]], attentionMask: [[0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]] });
    const right = rm.scores({ inputIds: [[...seq, 0, 0]], attentionMask: [[1, 1, 1, 1, 1, 0, 0]] });
    const a = alone.dataSync()[0];
    expect(Math.abs(left.dataSync()[0] - a)).toBeLessThan(1e-4);
    expect(Math.abs(right.dataSync()[0] - a)).toBeLessThan(1e-4);
    expect(Math.abs(left.dataSync()[1] - a)).toBeGreaterThan(1e-4);
    expect(() => rm.scores({ inputIds: [[0, 0]], attentionMask: [[0, 0]] })).toThrow('attentionMask[0]: has no real token');
    tf.dispose([alone, left, right]);
    rm.dispose();
    lm.dispose();
  });

  it('head gradient matches central finite differences; no tensor growth across steps', () => {
    const lm = tinyModel(TINY_LLAMA, 5);
    lm.setTrainable(false);
    const rm = new RewardModel(lm, { seed: 3 });
    const input = { inputIds: [[1, 3, 5, 2], [1, 7, 9, 2]] };
    const f = () => tf.tidy(() => {
      const s = rm.scores(input);
      return tf.sub(tf.gather(s, 0), tf.mul(0.5, tf.gather(s, 1))) as tf.Scalar;
    });
    const { grads, value } = tf.variableGrads(f, rm.trainableVariables());
    expect(rm.trainableVariables()).toHaveLength(1);
    const g = grads[rm.head.name].dataSync();
    const w = rm.head.dataSync().slice();
    const eps = 1e-2;
    for (const k of [0, 5, 11]) {
      const at = (delta: number) => {
        const x = w.slice();
        x[k] += delta;
        rm.head.assign(tf.tensor2d(x, rm.head.shape as [number, number]));
        const v = f();
        const out = v.dataSync()[0];
        v.dispose();
        return out;
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      expect(Math.abs(fd - g[k])).toBeLessThan(2e-3);
    }
    tf.dispose([value, ...Object.values(grads)]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const r = tf.variableGrads(f, rm.trainableVariables());
      tf.dispose([r.value, ...Object.values(r.grads)]);
    }
    expect(tf.memory().numTensors).toBe(before);
    const named = rm.namedHead();
    expect(named.get('score.weight')!.shape).toEqual([1, 16]);
    const copy = new RewardModel(lm, { head: named.get('score.weight') });
    close(copy.head.dataSync(), rm.head.dataSync(), 1e-7);
    expect(() => new RewardModel(lm, { head: tf.zeros([2, 16]) })).toThrow('score.weight: must have shape [1, 16], got [2,16]');
    tf.dispose([...named.values()]);
    copy.dispose();
    rm.dispose();
    lm.dispose();
  });
});
