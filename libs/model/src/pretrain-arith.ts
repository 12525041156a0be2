// The tiny base model of our own: a Llama-architecture char-level LM trained from scratch on the seeded
// arith corpus (libs/datasets), and its score: greedy exact match on held-out 2-digit additions.
import * as tf from '@tensorflow/tfjs-core';
import { createRng, trainLoop, type StepInfo } from '@tuneloop/engine';
import { ARITH_ALPHABET, arithCorpus, heldOutAdditions, type ArithExample } from '@tuneloop/datasets';
import type { ModelConfig } from './config.ts';
import { CausalLM } from './transformer.ts';
import { initWeights } from './weights.ts';
import { causalLmLoss } from './logprobs.ts';
import { generate } from './generate.ts';
import { charTokenizer, SIMPLE_CHAT_TEMPLATE } from './tokenizer/simple-tokenizers.ts';
import type { Tokenizer } from './tokenizer/tokenizer.ts';

export interface ArithPretrainSettings {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  intermediateSize: number;
  steps: number;
  batchSize: number; // packed rows per step
  seqLen: number; // tokens per packed row
  peakLr: number;
  warmupSteps: number;
  textFraction: number; // share of instruction-like lines in the corpus
  completionLossOnly: number; // 1: loss on completion tokens and EOS only (prompts are random digits); 0: every token
  seed: number;
}

/** The default: ~0.8 M parameters, a few minutes on 2 cores (WASM). */
export const ARITH_DEFAULT: ArithPretrainSettings = {
  hiddenSize: 128,
  numLayers: 4,
  numHeads: 4,
  numKvHeads: 2,
  intermediateSize: 384,
  steps: 1200,
  batchSize: 32,
  seqLen: 48,
  peakLr: 3e-3,
  warmupSteps: 60,
  textFraction: 0.2,
  completionLossOnly: 0,
  seed: 1,
};

/** A smaller, faster setting for tests (lower bar): ~0.1 M parameters, 300 steps. */
export const ARITH_SMALL: ArithPretrainSettings = {
  hiddenSize: 64,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  intermediateSize: 176,
  steps: 300,
  batchSize: 24,
  seqLen: 48,
  peakLr: 1e-2,
  warmupSteps: 20,
  textFraction: 0.2,
  completionLossOnly: 0,
  seed: 1,
};

/** The char tokenizer of the tiny model (specials <pad>=0, <bos>=1, <eos>=2, <unk>=3, then the alphabet). */
export function arithTokenizer(): Tokenizer {
  return charTokenizer(ARITH_ALPHABET, undefined, { chatTemplate: SIMPLE_CHAT_TEMPLATE });
}

export function arithModelConfig(s: ArithPretrainSettings, tok: Tokenizer): ModelConfig {
  return {
    modelType: 'llama',
    vocabSize: tok.vocabSize,
    hiddenSize: s.hiddenSize,
    intermediateSize: s.intermediateSize,
    numHiddenLayers: s.numLayers,
    numAttentionHeads: s.numHeads,
    numKeyValueHeads: s.numKvHeads,
    maxPositionEmbeddings: 64,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeScaling: null,
    attentionBias: false,
    tieWordEmbeddings: true,
    bosTokenId: tok.bosTokenId,
    eosTokenId: tok.eosTokenId,
    padTokenId: tok.padTokenId,
  };
}

/** Token ids of one example: <bos> prompt completion <eos>. */
export function encodeExample(tok: Tokenizer, ex: ArithExample): number[] {
  return [tok.bosTokenId!, ...tok.encode(ex.prompt + ex.completion, { addSpecialTokens: false }), tok.eosTokenId!];
}

export interface ArithScore {
  exactMatch: number; // completion equal to the answer, then EOS
  wellFormed: number; // digits only, then EOS (the format was learned)
  lastDigit: number; // ones digit right (chance 0.1)
}

/** Greedy scores of the completions (up to EOS) on `examples`, in batches. */
export function arithScore(model: CausalLM, tok: Tokenizer, examples: ArithExample[], batch = 64): ArithScore {
  let right = 0;
  let formed = 0;
  let last = 0;
  for (let i = 0; i < examples.length; i += batch) {
    const chunk = examples.slice(i, i + batch);
    const prompts = chunk.map((e) => [tok.bosTokenId!, ...tok.encode(e.prompt, { addSpecialTokens: false })]);
    const gens = generate(model, prompts, {
      temperature: 0,
      maxNewTokens: 5,
      eosTokenIds: [tok.eosTokenId!],
      decode: (ids) => tok.decode(ids, { skipSpecialTokens: true }),
    });
    gens.forEach((g, j) => {
      const want = chunk[j].completion;
      const ok = g.finishReason === 'eos' && /^\d+$/.test(g.text);
      if (ok) formed++;
      if (ok && g.text === want) right++;
      if (ok && g.text.at(-1) === want.at(-1)) last++;
    });
  }
  const n = examples.length;
  return { exactMatch: right / n, wellFormed: formed / n, lastDigit: last / n };
}

/** Greedy exact match of the completion (up to EOS) on `examples`. */
export function arithExactMatch(model: CausalLM, tok: Tokenizer, examples: ArithExample[], batch = 64): number {
  return arithScore(model, tok, examples, batch).exactMatch;
}

export interface ArithPretrainResult {
  model: CausalLM;
  tokenizer: Tokenizer;
  config: ModelConfig;
  history: StepInfo[];
  heldOutExactMatch: number; // greedy exact match on held-out 2-digit additions
  heldOut: ArithScore;
  heldOutCount: number;
  parameters: number;
}

/** Trains the tiny model from scratch; `onStep` sees every step (progress bars). */
export async function pretrainArith(
  s: ArithPretrainSettings,
  onStep?: (info: StepInfo, model: CausalLM, tok: Tokenizer) => void | Promise<void>,
  evalLimit?: number,
): Promise<ArithPretrainResult> {
  const tok = arithTokenizer();
  const config = arithModelConfig(s, tok);
  const weights = initWeights(config, createRng(s.seed));
  const model = new CausalLM(config, weights);
  tf.dispose([...weights.values()]);
  const corpus = arithCorpus({ seed: s.seed + 1, textFraction: s.textFraction });
  // Packed rows (GPT-style): examples are concatenated into rows of seqLen tokens, no padding wasted.
  let stream: number[] = [];
  let weights01: number[] = []; // 1 where the token's prediction counts in the loss
  const nextRow = () => {
    while (stream.length < s.seqLen) {
      const ex = corpus.next().value as ArithExample;
      const ids = encodeExample(tok, ex);
      const completion = tok.encode(ex.completion, { addSpecialTokens: false }).length + 1; // + EOS
      stream = stream.concat(ids);
      weights01 = weights01.concat(ids.map((_, i) => (!s.completionLossOnly || i >= ids.length - completion ? 1 : 0)));
    }
    const row = { ids: stream.slice(0, s.seqLen), mask: weights01.slice(0, s.seqLen) };
    stream = stream.slice(s.seqLen);
    weights01 = weights01.slice(s.seqLen);
    return row;
  };
  const history = await trainLoop(
    model.trainableVariables(),
    () => {
      const rows = Array.from({ length: s.batchSize }, nextRow);
      return causalLmLoss(model, rows.map((r) => r.ids), undefined, rows.map((r) => r.mask));
    },
    { steps: s.steps, peakLr: s.peakLr, warmupSteps: s.warmupSteps, clipNorm: 1, adamw: { weightDecay: 0.1, beta2: 0.99 } },
    (info) => onStep?.(info, model, tok),
  );
  const held = heldOutAdditions();
  const evalSet = evalLimit ? held.slice(0, evalLimit) : held;
  const score = arithScore(model, tok, evalSet);
  return {
    model,
    tokenizer: tok,
    config,
    history,
    heldOutExactMatch: score.exactMatch,
    heldOut: score,
    heldOutCount: evalSet.length,
    parameters: model.numParameters(),
  };
}
