// Partial fine-tuning rules on the real CausalLM: top k blocks, name / regex patterns, the head; the frozen
// rest is not trainable (no gradients, never handed to an optimizer).
import { initBackend } from '@tuneloop/engine';
import { TINY_LLAMA, tinyModel } from '@tuneloop/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { getPeftMethod } from '../../index.ts';

const partial = getPeftMethod('partial');

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

describe('partial fine-tuning', () => {
  it('trains exactly the units the rules select', () => {
    const model = tinyModel(TINY_LLAMA, 1);
    const pm = partial.apply(model, partial.parseConfig({ top_k_blocks: 1, modules: ['/model\\.layers\\.0\\.mlp\\.(up|down)_proj/'], head: true }));
    const names = [...pm.namedTrainable().keys()].sort();
    expect(names).toContain('model.layers.1.self_attn.q_proj.weight');
    expect(names).toContain('model.layers.1.post_attention_layernorm.weight');
    expect(names).toContain('model.layers.0.mlp.up_proj.weight');
    expect(names).toContain('model.layers.0.mlp.down_proj.weight');
    expect(names).toContain('lm_head.weight');
    expect(names).toContain('model.norm.weight');
    expect(names).not.toContain('model.layers.0.mlp.gate_proj.weight');
    expect(names).not.toContain('model.embed_tokens.weight');
    expect(model.embedTokens.trainable).toBe(false);
    expect(new Set(model.trainableVariables())).toEqual(new Set(pm.trainableVariables()));
    pm.unload();
    expect(model.trainableVariables().length).toBe(model.variables().length);
    model.dispose();
  });

  it('refuses rules that select nothing, and bad patterns', () => {
    const model = tinyModel(TINY_LLAMA, 1);
    expect(() => partial.apply(model, partial.parseConfig({ top_k_blocks: 0, head: false }))).toThrow('partial: the rules select no parameter of the model');
    expect(model.trainableVariables().length).toBe(model.variables().length); // left untouched
    expect(() => partial.parseConfig({ modules: ['/(/'] })).toThrow(/modules: '\/\(\/' is not a valid regular expression/);
    expect(() => partial.parseConfig({ top_k_blocks: -1 })).toThrow('top_k_blocks: must be an integer >= 0, got -1');
    model.dispose();
  });
});
