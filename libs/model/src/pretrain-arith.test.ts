// The tiny base model's training recipe, small setting: from random weights to well-formed answers and a
// non-trivial exact match on held-out 2-digit additions (the default setting's >= 60% is checked by the CLI run).
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { ARITH_SMALL, pretrainArith } from './pretrain-arith.ts';

describe('pretrainArith (small setting, wasm)', () => {
  it('learns the format and some held-out sums', { timeout: 600_000 }, async () => {
    await initBackend({ backend: 'wasm', quiet: true });
    const before = tf.memory().numTensors;
    const r = await pretrainArith(ARITH_SMALL, undefined, 200);
    const first = r.history[0].loss;
    const last = r.history.slice(-20).reduce((a, h) => a + h.loss, 0) / 20;
    expect(first).toBeGreaterThan(3.5); // ~ln(vocab) at random init
    expect(last).toBeLessThan(1.3);
    expect(r.heldOut.wellFormed).toBeGreaterThan(0.9); // digits, then EOS
    expect(r.heldOut.exactMatch).toBeGreaterThanOrEqual(0.03); // chance is ~0.005
    expect(r.heldOutCount).toBe(200);
    expect(r.parameters).toBeGreaterThan(90_000);
    r.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
