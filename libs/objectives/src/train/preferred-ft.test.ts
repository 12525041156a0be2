// Preferred-FT (the DPO paper's reference when no SFT model exists): fine-tuning on the chosen responses raises
// their log-probs (and only the variables handed in move); bad input fails before a step.
import { initBackend } from '@tuneloop/engine';
import { arithTokenizer, TINY_LLAMA, tinyModel, type Tokenizer } from '@tuneloop/model';
import { getPeftMethod } from '@tuneloop/peft';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePairs } from './encode.ts';
import { sequenceLogpSums } from './reference.ts';
import { trainPreferredFt } from './preferred-ft.ts';

let tok: Tokenizer;
const PAIRS = [
  { prompt: '1+2=', chosen: '3', rejected: '4 ok' },
  { prompt: '2+2=', chosen: '4 so yes', rejected: '5' },
  { prompt: '3+4=', chosen: '7', rejected: '17' },
  { prompt: '5+5=', chosen: '10', rejected: '11 or so' },
];
const CFG = { steps: 25, batchSize: 4, lr: 1e-2, seed: 1 };

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  tok = arithTokenizer();
});

const model = () => tinyModel({ ...TINY_LLAMA, vocabSize: tok.vocabSize, padTokenId: 0 }, 7);
const sums = (m: ReturnType<typeof model>, side: 'chosen' | 'rejected') => {
  const enc = encodePairs(tok, PAIRS);
  return [...sequenceLogpSums(m, enc.map((p) => p.prompt), enc.map((p) => p[side]), 0)];
};

describe('trainPreferredFt', () => {
  it('raises the log-prob of every chosen response (full fine-tuning), and the loss falls', async () => {
    const m = model();
    const before = sums(m, 'chosen');
    const hist = await trainPreferredFt({ model: m, variables: m.trainableVariables(), tokenizer: tok, pairs: PAIRS, config: CFG });
    const after = sums(m, 'chosen');
    after.forEach((a, i) => expect(a).toBeGreaterThan(before[i] + 1));
    expect(hist.length).toBe(CFG.steps);
    expect(hist.at(-1)!.metrics.loss).toBeLessThan(hist[0].metrics.loss / 2);
    m.dispose();
  });
  it('moves only the variables handed in (a LoRA adapter), and checks its input first', async () => {
    const m = model();
    m.setTrainable(false);
    const lora = getPeftMethod('lora');
    const pm = lora.apply(m, lora.parseConfig({ r: 4, lora_alpha: 8, target_modules: 'all-linear' }), { seed: 1 });
    const frozen = m.variables();
    const snap = frozen.map((v) => v.dataSync().slice());
    await expect(trainPreferredFt({ model: m, variables: pm.trainableVariables(), tokenizer: tok, pairs: PAIRS, config: { ...CFG, steps: 0 } })).rejects.toThrow('steps: must be an integer >= 1, got 0');
    await expect(trainPreferredFt({ model: m, variables: pm.trainableVariables(), tokenizer: tok, pairs: [...PAIRS, { prompt: '1+1=', chosen: '', rejected: '2' }], config: CFG })).rejects.toThrow('pairs[4].chosen: must not be empty');
    const before = sums(m, 'chosen');
    await trainPreferredFt({ model: m, variables: pm.trainableVariables(), tokenizer: tok, pairs: PAIRS, config: { ...CFG, steps: 10 } });
    expect(sums(m, 'chosen').reduce((a, b) => a + b)).toBeGreaterThan(before.reduce((a, b) => a + b));
    frozen.forEach((v, i) => expect(v.dataSync()).toEqual(snap[i]));
    pm.unload();
    m.dispose();
  });
});
