// Tokenizes preference data for training: prompt ids (<bos> prompt, or the chat template with the generation
// prompt) and response ids (response <eos>); checks every example before any training starts.
import type { Tokenizer } from '@tuneloop/model';
import { ObjectiveInputError } from '../util/errors.ts';

export type Turn = { role: string; content: string };
export type Content = string | Turn[];

/** A preference pair as text (TRL standard or conversational), with an optional Bradley-Terry margin. */
export interface PreferenceExample {
  prompt: Content;
  chosen: Content;
  rejected: Content;
  margin?: number;
}

/** An unpaired KTO example. */
export interface UnpairedExample {
  prompt: Content;
  completion: Content;
  label: boolean;
}

export interface EncodedPair {
  prompt: number[];
  chosen: number[];
  rejected: number[];
  margin: number;
}

export interface EncodedUnpaired {
  prompt: number[];
  completion: number[];
  label: boolean;
}

const isEmpty = (c: Content) => (typeof c === 'string' ? c.trim() === '' : c.every((m) => m.content.trim() === ''));

function promptIds(tok: Tokenizer, prompt: Content): number[] {
  if (typeof prompt === 'string') return [...(tok.bosTokenId === undefined ? [] : [tok.bosTokenId]), ...tok.encode(prompt, { addSpecialTokens: false })];
  if (prompt.length === 0) return tok.bosTokenId === undefined ? [] : [tok.bosTokenId];
  return tok.encode(tok.applyChatTemplate(prompt, { addGenerationPrompt: true }), { addSpecialTokens: false });
}

function responseIds(tok: Tokenizer, response: Content): number[] {
  const text = typeof response === 'string' ? response : response.filter((m) => m.role === 'assistant').map((m) => m.content).join('\n');
  return [...tok.encode(text, { addSpecialTokens: false }), ...(tok.eosTokenId === undefined ? [] : [tok.eosTokenId])];
}

/** Conversational pair without a prompt: the common leading turns of chosen and rejected become the prompt. */
function splitImplicit(ex: PreferenceExample): PreferenceExample {
  if (typeof ex.chosen === 'string' || typeof ex.rejected === 'string' || (Array.isArray(ex.prompt) && ex.prompt.length > 0) || typeof ex.prompt === 'string') return ex;
  const c = ex.chosen;
  const r = ex.rejected;
  let k = 0;
  while (k < c.length && k < r.length && c[k].role === r[k].role && c[k].content === r[k].content) k++;
  return { ...ex, prompt: c.slice(0, k), chosen: c.slice(k), rejected: r.slice(k) };
}

/**
 * Encodes pairs, refusing (ObjectiveInputError naming the example) empty responses, chosen == rejected and
 * sequences longer than maxLength tokens.
 */
export function encodePairs(tok: Tokenizer, examples: PreferenceExample[], opts: { maxLength?: number; field?: string } = {}): EncodedPair[] {
  const field = opts.field ?? 'pairs';
  if (examples.length === 0) throw new ObjectiveInputError(field, 'must hold at least one pair, got 0');
  return examples.map((raw, i) => {
    if (JSON.stringify(raw.chosen) === JSON.stringify(raw.rejected)) throw new ObjectiveInputError(`${field}[${i}]`, 'chosen and rejected are identical (a pair must differ)');
    const ex = splitImplicit(raw);
    for (const k of ['chosen', 'rejected'] as const) if (isEmpty(ex[k])) throw new ObjectiveInputError(`${field}[${i}].${k}`, 'must not be empty');
    if (raw.margin !== undefined && !Number.isFinite(raw.margin)) throw new ObjectiveInputError(`${field}[${i}].margin`, `must be a finite number, got ${raw.margin}`);
    const p = promptIds(tok, ex.prompt);
    const enc = { prompt: p, chosen: responseIds(tok, ex.chosen), rejected: responseIds(tok, ex.rejected), margin: raw.margin ?? 0 };
    const longest = p.length + Math.max(enc.chosen.length, enc.rejected.length);
    if (opts.maxLength !== undefined && longest > opts.maxLength) {
      throw new ObjectiveInputError(`${field}[${i}]`, `is ${longest} tokens long, above maxLength ${opts.maxLength}`);
    }
    return enc;
  });
}

/** Encodes KTO examples (non-empty completions; at most maxLength tokens). */
export function encodeUnpaired(tok: Tokenizer, examples: UnpairedExample[], opts: { maxLength?: number; field?: string } = {}): EncodedUnpaired[] {
  const field = opts.field ?? 'examples';
  if (examples.length < 2) throw new ObjectiveInputError(field, `must hold at least 2 examples (KTO's KL estimate pairs mismatched ones), got ${examples.length}`);
  return examples.map((ex, i) => {
    if (isEmpty(ex.completion)) throw new ObjectiveInputError(`${field}[${i}].completion`, 'must not be empty');
    if (typeof ex.label !== 'boolean') throw new ObjectiveInputError(`${field}[${i}].label`, `must be true or false, got ${String(ex.label)}`);
    const enc = { prompt: promptIds(tok, ex.prompt), completion: responseIds(tok, ex.completion), label: ex.label };
    const n = enc.prompt.length + enc.completion.length;
    if (opts.maxLength !== undefined && n > opts.maxLength) throw new ObjectiveInputError(`${field}[${i}]`, `is ${n} tokens long, above maxLength ${opts.maxLength}`);
    return enc;
  });
}

/** Ids of one scored sequence: prompt ids then response ids (the response must not be empty). */
export function encodeSequence(tok: Tokenizer, prompt: Content, response: Content, field = 'response'): number[] {
  if (isEmpty(response)) throw new ObjectiveInputError(field, 'must not be empty');
  return [...promptIds(tok, prompt), ...responseIds(tok, response)];
}
