// Test support: a tiny seeded Llama base model saved as a Hugging Face folder (built with the model lib, written
// with saveModel), small JSONL datasets of single-digit additions, and a temporary TUNELOOP_HOME holding both.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRng, initBackend } from '@tuneloop/engine';
import { saveModel } from '@tuneloop/files';
import { CausalLM, charTokenizer, initWeights, SIMPLE_CHAT_TEMPLATE, type ModelConfig } from '@tuneloop/model';

export const ALPHABET = '0123456789+=: abcdefghijklmnopqrstuvwxyz\n';

/** Writes a tiny seeded base model (2 layers, hidden 16, context 32) to `dir`. */
export async function writeTinyBase(dir: string, seed = 3): Promise<ModelConfig> {
  await initBackend({ backend: 'cpu', quiet: true });
  const tok = charTokenizer(ALPHABET, undefined, { chatTemplate: SIMPLE_CHAT_TEMPLATE });
  const config: ModelConfig = {
    modelType: 'llama', vocabSize: tok.vocabSize, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 2,
    numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 32, rmsNormEps: 1e-5, ropeTheta: 10000,
    ropeScaling: null, attentionBias: false, tieWordEmbeddings: false,
    bosTokenId: tok.bosTokenId, eosTokenId: tok.eosTokenId, padTokenId: tok.padTokenId,
  };
  const w = initWeights(config, createRng(seed), 0.2, false);
  const model = new CausalLM(config, w);
  for (const t of w.values()) t.dispose();
  await saveModel(dir, model, { tokenizer: tok });
  model.dispose();
  return config;
}

/** `n` single-digit additions as prompt-completion JSONL (seeded). */
export function additionsJsonl(n: number, seed = 1): string {
  const rng = createRng(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.int(5);
    const b = rng.int(5);
    lines.push(JSON.stringify({ prompt: `${a}+${b}=`, completion: String(a + b) }));
  }
  return lines.join('\n') + '\n';
}

/** A temporary TUNELOOP_HOME with models/tiny (the base) and data/add.jsonl; `cleanup()` removes it. */
export async function tempHome(rows = 64): Promise<{ home: string; base: string; data: string; cleanup(): Promise<void> }> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-trainer-'));
  const base = path.join(home, 'models', 'tiny');
  await writeTinyBase(base);
  const data = path.join(home, 'add.jsonl');
  await writeFile(data, additionsJsonl(rows));
  return { home, base, data, cleanup: () => rm(home, { recursive: true, force: true }) };
}
