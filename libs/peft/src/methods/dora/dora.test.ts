// DoRA numerics: m starts at the per-output norm of W; forward = m * (W + sBA) x / ||W + sBA||_c + b;
// the norm carries no gradient (as PEFT's detach); PEFT names (lora_magnitude_vector, use_dora); biased bases merge.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { DenseLinear, TINY_QWEN2, tinyModel, type LinearModule } from '@tuneloop/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { getPeftMethod, saveAdapter, type PeftHost } from '../../index.ts';
import { normalTensor } from '../../core/random.ts';
import type { LoraLayer } from '../lora/layer.ts';

const dora = getPeftMethod('dora');

function host(): PeftHost & { lin: DenseLinear } {
  const w = normalTensor([5, 7], 0.5, 1) as tf.Tensor2D;
  const b = normalTensor([5], 0.5, 2) as tf.Tensor1D;
  const lin = new DenseLinear('model.layers.0.mlp.up_proj', w, b);
  tf.dispose([w, b]);
  const t = new Map<string, LinearModule>([[lin.name, lin]]);
  return { lin, linears: () => new Map(t), setLinear: (n, m) => void t.set(n, m) };
}

const diff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

describe('DoRA', () => {
  it('starts m at ||W||_c and computes m * V x / ||V||_c + b with V = W + s B A', () => {
    const h = host();
    const pm = dora.apply(h, dora.parseConfig({ r: 3, lora_alpha: 6, target_modules: ['up_proj'] }));
    const l = pm.layers.get(h.lin.name) as LoraLayer;
    const m = l.tensor('lora_magnitude_vector');
    const rowNorm = tf.tidy(() => tf.norm(h.lin.weight(), 'euclidean', 1));
    expect(diff(m, rowNorm)).toBeLessThan(1e-6);
    // make B non-zero and m different from the norm, then check the formula
    l.setTensor('lora_B.weight', normalTensor(l.peftShape('lora_B.weight'), 0.3, 5));
    m.assign(tf.mul(rowNorm, tf.tensor1d([0.5, 1, 1.5, 2, 0.8])));
    const x = normalTensor([4, 7], 1, 6) as tf.Tensor2D;
    const want = tf.tidy(() => {
      const V = tf.add(h.lin.weight(), tf.mul(tf.matMul(l.exportTensor('lora_B.weight'), l.exportTensor('lora_A.weight')), l.scale)); // [out, in]
      const scale = tf.div(m, tf.norm(V, 'euclidean', 1)); // [out]
      return tf.add(tf.mul(tf.matMul(x, V, false, true), scale), h.lin.bias as tf.Tensor);
    });
    const got = l.forward(x);
    expect(diff(got, want)).toBeLessThan(1e-5);
    tf.dispose([rowNorm, x, want, got]);
    pm.unload();
    h.lin.dispose();
  });

  it('takes the norm without gradient: grad A equals the reference with ||V|| held constant', () => {
    const h = host();
    const pm = dora.apply(h, dora.parseConfig({ r: 2, lora_alpha: 2, target_modules: ['up_proj'] }));
    const l = pm.layers.get(h.lin.name) as LoraLayer;
    l.setTensor('lora_B.weight', normalTensor(l.peftShape('lora_B.weight'), 0.5, 7));
    const m = l.tensor('lora_magnitude_vector');
    const x = normalTensor([4, 7], 1, 8) as tf.Tensor2D;
    const W = h.lin.weight();
    const V = () => tf.add(W, tf.mul(tf.transpose(tf.matMul(l.At, l.Bt)), l.scale)); // W + s B A, [out, in]
    const frozenNorm = tf.tidy(() => tf.norm(V(), 'euclidean', 1));
    const ref = (normOf: () => tf.Tensor) => () =>
      tf.sum(tf.square(tf.add(tf.mul(tf.matMul(x, V(), false, true), tf.div(m, normOf())), h.lin.bias as tf.Tensor))) as tf.Scalar;
    const ours = tf.variableGrads(() => tf.sum(tf.square(l.forward(x))) as tf.Scalar, [l.At, m]);
    const detached = tf.variableGrads(ref(() => frozenNorm), [l.At, m]);
    const through = tf.variableGrads(ref(() => tf.norm(V(), 'euclidean', 1)), [l.At, m]);
    expect(diff(ours.grads[l.At.name], detached.grads[l.At.name])).toBeLessThan(1e-4);
    expect(diff(ours.grads[m.name], detached.grads[m.name])).toBeLessThan(1e-4);
    expect(diff(ours.grads[l.At.name], through.grads[l.At.name])).toBeGreaterThan(1e-3);
    tf.dispose([x, W, frozenNorm, ...[ours, detached, through].flatMap((g) => [g.value, ...Object.values(g.grads)])]);
    pm.unload();
    h.lin.dispose();
  });

  it("saves PEFT's lora_magnitude_vector [out] with use_dora, and merges over biased (Qwen2) bases", () => {
    const model = tinyModel(TINY_QWEN2, 2);
    const pm = dora.apply(model, dora.parseConfig({ r: 2, target_modules: ['q_proj', 'k_proj'] }));
    const { adapterConfig, tensors } = saveAdapter(pm);
    expect(adapterConfig).toMatchObject({ peft_type: 'LORA', use_dora: true, r: 2 });
    expect(tensors.get('base_model.model.model.layers.0.self_attn.k_proj.lora_magnitude_vector')?.shape).toEqual([4]);
    for (const l of pm.layers.values()) l.setTensor('lora_B.weight', normalTensor(l.peftShape('lora_B.weight'), 0.3, 9));
    const ids = [[1, 2, 3, 4, 5]];
    const y = model.forward({ inputIds: ids });
    pm.merge();
    const ym = model.forward({ inputIds: ids });
    expect(diff(y, ym)).toBeLessThan(1e-4);
    tf.dispose([y, ym]);
    pm.unload();
    model.dispose();
  });
});
