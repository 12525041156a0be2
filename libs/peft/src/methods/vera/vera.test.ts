// VeRA: A and B are regenerated from projection_prng_key (same key, same matrices), sized to the largest
// target, saved only with save_projection (PEFT keys base_model.vera_A / vera_B); d and b train per layer.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { TINY_LLAMA, tinyModel } from '@tuneloop/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { getPeftMethod, loadAdapter, saveAdapter } from '../../index.ts';
import { normalTensor } from '../../core/random.ts';
import { VERA_A_KEY, VERA_B_KEY } from './model.ts';

const vera = getPeftMethod('vera');
const cfg = (extra: Record<string, unknown> = {}) => vera.parseConfig({ r: 4, target_modules: ['q_proj', 'v_proj', 'down_proj'], ...extra });
const diff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const IDS = [[3, 1, 4, 1, 5, 9, 2, 6]];

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

describe('VeRA', () => {
  it('regenerates the same shared A [r, max_in] and B [max_out, r] from the key; another key differs', () => {
    const m1 = tinyModel(TINY_LLAMA, 1);
    const m2 = tinyModel(TINY_LLAMA, 1);
    const p1 = vera.apply(m1, cfg({ projection_prng_key: 7 }));
    const p2 = vera.apply(m2, cfg({ projection_prng_key: 7 }));
    const A = p1.shared.get(VERA_A_KEY) as tf.Tensor;
    expect(A.shape).toEqual([4, 24]); // max in: down_proj 24
    expect(p1.shared.get(VERA_B_KEY)?.shape).toEqual([16, 4]); // max out: q 16, v 8, down 16
    expect(diff(A, p2.shared.get(VERA_A_KEY) as tf.Tensor)).toBe(0);
    p2.unload();
    const p3 = vera.apply(m2, cfg({ projection_prng_key: 8 }));
    expect(diff(A, p3.shared.get(VERA_A_KEY) as tf.Tensor)).toBeGreaterThan(0.01);
    p1.unload();
    p3.unload();
    m1.dispose();
    m2.dispose();
  });

  it('does not save A, B unless save_projection; both files reload to the same outputs', () => {
    for (const save_projection of [false, true]) {
      const m1 = tinyModel(TINY_LLAMA, 1);
      const pm = vera.apply(m1, cfg({ save_projection, projection_prng_key: 3 }));
      for (const v of pm.trainableVariables()) v.assign(normalTensor(v.shape, 0.5, v.id));
      const files = saveAdapter(pm);
      expect(files.tensors.has(VERA_A_KEY)).toBe(save_projection);
      expect(files.tensors.get('base_model.model.model.layers.0.mlp.down_proj.vera_lambda_b')?.shape).toEqual([16]);
      expect(files.tensors.get('base_model.model.model.layers.0.mlp.down_proj.vera_lambda_d')?.shape).toEqual([4]);
      expect(files.adapterConfig).toMatchObject({ peft_type: 'VERA', r: 4, projection_prng_key: 3, save_projection, d_initial: 0.1, vera_dropout: 0 });
      const y = m1.forward({ inputIds: IDS });
      const m2 = tinyModel(TINY_LLAMA, 1);
      const pm2 = loadAdapter(m2, files);
      const y2 = m2.forward({ inputIds: IDS });
      expect(diff(y, y2)).toBeLessThan(1e-5);
      tf.dispose([y, y2]);
      pm.unload();
      pm2.unload();
      m1.dispose();
      m2.dispose();
    }
  });

  it('refuses a file whose config says save_projection but lacks vera_A / vera_B', () => {
    const m = tinyModel(TINY_LLAMA, 1);
    const pm = vera.apply(m, cfg({ save_projection: false }));
    const files = saveAdapter(pm);
    pm.unload();
    expect(() => loadAdapter(m, { adapterConfig: { ...files.adapterConfig, save_projection: true }, tensors: files.tensors })).toThrow(
      /save_projection is true but 'base_model\.vera_A'/,
    );
    m.dispose();
  });
});
