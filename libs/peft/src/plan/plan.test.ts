// `peft plan` numbers: the DESIGN example (one 4096 x 4096 matrix, r 8) and every method's formula on a
// Llama-2-7B config.json (32 layers, d 4096, 11008 intermediate, 32 heads, vocab 32000), with no weights.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { llamaShapes, planPeft, shapeConfigFromJson, singleMatrixShapes } from '../index.ts';

const llama7b = llamaShapes(shapeConfigFromJson(JSON.parse(readFileSync(new URL('./fixtures/llama-2-7b-config.json', import.meta.url), 'utf8'))));
const BASE_7B = 6_738_415_616; // LlamaForCausalLM Llama-2-7b parameter count
const L = 32;
const D = 4096;
const I = 11008;

describe('peft plan', () => {
  it("reproduces the seed's example: W 4096 x 4096, r 8 -> 65,536 trainable (256x fewer)", () => {
    const p = planPeft(singleMatrixShapes(4096, 4096), 'lora', { rank: 8, targets: ['weight'] });
    expect(p.trainable).toBe(65_536); // 8 * (4096 + 4096)
    expect(p.total).toBe(16_777_216 + 65_536);
    expect(16_777_216 / p.trainable).toBe(256);
    expect(p.optimizerMemory.totalBytes).toBe(65_536 * 12);
  });

  it('counts the Llama-2-7B base from config.json alone', () => {
    expect(planPeft(llama7b, 'full').total).toBe(BASE_7B);
    expect(planPeft(llama7b, 'full').trainable).toBe(BASE_7B);
    expect(planPeft(llama7b, 'full').percent).toBe(100);
  });

  it('LoRA r 8 on q_proj, v_proj matches PEFT print_trainable_parameters for Llama-2-7b', () => {
    const p = planPeft(llama7b, 'lora', { rank: 8 });
    expect(p.trainable).toBe(4_194_304); // 32 layers * 2 modules * 8 * (4096 + 4096)
    expect(p.total).toBe(6_742_609_920); // PEFT: "all params: 6,742,609,920 || trainable%: 0.0622"
    expect(p.percent).toBeCloseTo(0.06220594176, 9);
    const q = p.groups.find((g) => g.kind === 'q_proj');
    expect(q).toEqual({ kind: 'q_proj', count: 32, trainable: 32 * 65_536, total: 32 * (D * D + 65_536) });
    expect(p.optimizerMemory).toEqual({ gradientBytes: 4 * 4_194_304, adamStateBytes: 8 * 4_194_304, totalBytes: 12 * 4_194_304 });
  });

  it('gives the formula count for every method on Llama-2-7B', () => {
    const perLayerAllLinear = 4 * 8 * (D + D) + 2 * 8 * (D + I) + 8 * (I + D); // q k v o, gate up, down
    expect(planPeft(llama7b, 'lora', { rank: 8, targets: ['all-linear'] }).trainable).toBe(L * perLayerAllLinear);
    expect(L * perLayerAllLinear).toBe(19_988_480);
    expect(planPeft(llama7b, 'qlora', { rank: 8 }).trainable).toBe(4_194_304);
    expect(planPeft(llama7b, 'dora', { rank: 8 }).trainable).toBe(4_194_304 + L * 2 * D); // + magnitude [out]
    expect(planPeft(llama7b, 'vera', { rank: 256 }).trainable).toBe(L * 2 * (256 + D)); // d [r] + b [out]
    const ada = planPeft(llama7b, 'adalora', { rank: 12 });
    expect(ada.trainable).toBe(L * 2 * 12 * (D + D + 1)); // P, Q, lambda at init_r
    expect(ada.total).toBe(BASE_7B + ada.trainable + L * 2); // + ranknum per module
    const part = planPeft(llama7b, 'partial', { config: { top_k_blocks: 2, head: true } });
    const block = 4 * D * D + 3 * D * I + 2 * D;
    expect(part.trainable).toBe(2 * block + 32000 * D + D); // 2 blocks + lm_head + final norm
    expect(planPeft(llama7b, 'partial', { targets: ['o_proj'] }).trainable).toBe(L * D * D);
  });

  it('rejects bad input with the field named', () => {
    expect(() => planPeft(llama7b, 'lora', { rank: 0 })).toThrow('r: must be an integer >= 1, got 0');
    expect(() => planPeft(llama7b, 'lora', { targets: ['qq_proj'] })).toThrow(/target_modules: 'qq_proj' is not a linear module of the model/);
    expect(() => planPeft(llama7b, 'nope')).toThrow(/method: unknown PEFT method 'nope'/);
    expect(() => planPeft(llama7b, 'full', { rank: 8 })).toThrow(/rank: full fine-tuning has no rank/);
    expect(() => shapeConfigFromJson({ model_type: 'gpt2' })).toThrow(/model_type/);
  });
});
