// AdamW checkpointing: getState() / setState() round trip (a restored optimizer makes bit-identical next
// updates), copies not views, the whole state replaced, and bad states refused naming the field.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW } from './adamw.ts';
import { initBackend } from './backend.ts';
import { createRng } from './rng.ts';

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

const SHAPES: Record<string, number[]> = { 'layer.weight': [2, 3], 'layer.bias': [3], 'head.weight': [4, 2] };
let grads: tf.Tensor[][] = [];

beforeAll(() => {
  const rng = createRng(11);
  grads = Array.from({ length: 6 }, () => Object.values(SHAPES).map((s) => rng.normalTensor(s, 0.5)));
});

function makeVars(from?: Map<string, tf.Variable>): Map<string, tf.Variable> {
  const r = createRng(3);
  return new Map(Object.entries(SHAPES).map(([n, s]) => [n, tf.variable(from ? tf.clone(from.get(n)!) : r.normalTensor(s))]));
}
const values = (vs: Map<string, tf.Variable>) => [...vs.values()].map((v) => Array.from(v.dataSync()));
const cfg = { beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1 };

describe('AdamW getState / setState', () => {
  it('restores into a fresh optimizer that makes identical next updates', () => {
    const a = makeVars();
    const optA = new AdamW(cfg);
    for (let s = 0; s < 3; s++) optA.apply([...a.values()], grads[s], 0.01 * (s + 1));
    const saved = optA.getState(a);
    expect(saved.step).toBe(3);
    expect([...saved.moments.keys()]).toEqual(Object.keys(SHAPES));
    expect(saved.moments.get('layer.bias')!.shape).toEqual([3]);
    const b = makeVars(a); // the weights as checkpointed
    const optB = new AdamW(cfg);
    optB.setState(b, saved);
    for (let s = 3; s < 6; s++) {
      optA.apply([...a.values()], grads[s], 0.02);
      optB.apply([...b.values()], grads[s], 0.02);
      expect(values(b)).toEqual(values(a)); // bit for bit
    }
    const stA = optA.getState(a);
    const stB = optB.getState(b);
    expect(stB.step).toBe(6);
    for (const [n, m] of stA.moments) {
      expect(Array.from(stB.moments.get(n)!.m)).toEqual(Array.from(m.m));
      expect(Array.from(stB.moments.get(n)!.v)).toEqual(Array.from(m.v));
    }
    // the saved state was a copy: later steps did not change it, and it still differs from now
    expect(saved.step).toBe(3);
    expect(Array.from(saved.moments.get('head.weight')!.m)).not.toEqual(Array.from(stA.moments.get('head.weight')!.m));
    // without the moments (a fresh optimizer at the same step) the next update differs: the state matters
    const c = makeVars(a);
    const optC = new AdamW(cfg);
    optC.setState(c, { step: stA.step, moments: new Map() });
    optA.apply([...a.values()], grads[0], 0.02);
    optC.apply([...c.values()], grads[0], 0.02);
    expect(values(c)).not.toEqual(values(a));
    for (const o of [optA, optB, optC]) o.dispose();
    for (const vs of [a, b, c]) for (const v of vs.values()) v.dispose();
  });

  it('skips variables never updated and replaces the whole state without leaking tensors', () => {
    const vs = makeVars();
    const opt = new AdamW(cfg);
    const [w, bias] = [vs.get('layer.weight')!, vs.get('layer.bias')!];
    opt.apply([w, bias], grads[0].slice(0, 2), 0.01);
    const st = opt.getState(vs);
    expect([...st.moments.keys()]).toEqual(['layer.weight', 'layer.bias']);
    const before = tf.memory().numTensors;
    opt.setState(vs, { step: 1, moments: new Map([['layer.bias', st.moments.get('layer.bias')!]]) });
    expect(tf.memory().numTensors).toBe(before - 2); // layer.weight's two moments dropped
    expect([...opt.getState(vs).moments.keys()]).toEqual(['layer.bias']);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before - 4);
    for (const v of vs.values()) v.dispose();
  });

  it('refuses a bad state naming the field, and changes nothing', () => {
    const vs = makeVars();
    const opt = new AdamW(cfg);
    opt.apply([...vs.values()], grads[0], 0.01);
    const good = opt.getState(vs);
    const m = good.moments.get('layer.bias')!;
    const bad = (moments: Map<string, (typeof m)>, step = 1) => () => opt.setState(vs, { step, moments });
    expect(bad(good.moments, -1)).toThrow('state.step: must be an integer >= 0, got -1');
    expect(bad(new Map([['nope', m]]))).toThrow("state.moments: 'nope' is not one of the variables given");
    expect(bad(new Map([['layer.bias', { ...m, shape: [4] }]]))).toThrow("state.moments['layer.bias'].shape: must be [3], got [4]");
    expect(bad(new Map([['layer.bias', { ...m, v: new Float32Array(2) }]]))).toThrow("state.moments['layer.bias'].v: must be a Float32Array of 3 values, got 2");
    const after = opt.getState(vs);
    expect(after.step).toBe(1);
    expect(Array.from(after.moments.get('head.weight')!.v)).toEqual(Array.from(good.moments.get('head.weight')!.v));
    opt.dispose();
    for (const v of vs.values()) v.dispose();
  });
});
