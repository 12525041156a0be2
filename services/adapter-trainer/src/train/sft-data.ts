// SFT examples -> token rows with a loss mask (TRL's completion-only / assistant-only loss): prompt-completion
// rows learn the completion and EOS; chat rows (rendered with the tokenizer's chat template) learn assistant turns.
import type { SftExample } from '@tuneloop/datasets';
import type { Tokenizer } from '@tuneloop/model';

/** One tokenized example: ids and a 0/1 mask of the tokens whose prediction counts in the loss. */
export interface SftRow {
  line: number;
  ids: number[];
  lossMask: number[];
}

export type Overlong = 'reject' | 'truncate';

/** A bad example found while tokenizing (named by its dataset line): INVALID_ARGUMENT. */
export class SftDataError extends Error {
  override readonly name = 'SftDataError';
  readonly code = 'INVALID_ARGUMENT';
  readonly retryable = false;
}

function encode(tok: Tokenizer, text: string): number[] {
  return text === '' ? [] : tok.encode(text, { addSpecialTokens: false });
}

/** Assistant spans as [start, end) character ranges of the rendered conversation, checked to render incrementally. */
function chatSegments(tok: Tokenizer, ex: Extract<SftExample, { kind: 'messages' }>): { text: string; learn: boolean }[] {
  const full = tok.applyChatTemplate(ex.messages);
  const segments: { text: string; learn: boolean }[] = [];
  let at = 0;
  ex.messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const before = tok.applyChatTemplate(ex.messages.slice(0, i), { addGenerationPrompt: true });
    const upto = tok.applyChatTemplate(ex.messages.slice(0, i + 1));
    if (!full.startsWith(upto) || !upto.startsWith(before) || before.length < at) {
      throw new SftDataError(`line ${ex.line}: the chat template does not render turns as prefixes of the conversation; cannot mask assistant tokens`);
    }
    segments.push({ text: full.slice(at, before.length), learn: false }, { text: full.slice(before.length, upto.length), learn: true });
    at = upto.length;
  });
  segments.push({ text: full.slice(at), learn: false });
  return segments;
}

/**
 * Tokenizes one example. `maxLen` is the effective limit (min of max_seq_length and the model's context);
 * longer rows are rejected or truncated (keeping the start) per `overlong`.
 */
export function encodeSftExample(tok: Tokenizer, ex: SftExample, maxLen: number, overlong: Overlong): SftRow {
  const ids: number[] = [];
  const lossMask: number[] = [];
  const push = (xs: number[], learn: boolean) => {
    for (const x of xs) {
      ids.push(x);
      lossMask.push(learn ? 1 : 0);
    }
  };
  const bos = tok.bosTokenId;
  if (ex.kind === 'prompt-completion') {
    if (bos !== undefined) push([bos], false);
    push(encode(tok, ex.prompt), false);
    push(encode(tok, ex.completion), true);
    if (tok.eosTokenId === undefined) throw new SftDataError('tokenizer: has no eos token; prompt-completion SFT needs one to learn to stop');
    push([tok.eosTokenId], true);
  } else {
    const segments = chatSegments(tok, ex);
    const bosText = bos !== undefined ? tok.idToToken(bos) : undefined;
    if (bos !== undefined && !(bosText && segments[0].text.startsWith(bosText))) push([bos], false);
    for (const s of segments) push(encode(tok, s.text), s.learn);
  }
  if (ids.length > maxLen) {
    if (overlong === 'reject') {
      throw new SftDataError(
        `line ${ex.line}: sequence of ${ids.length} tokens is longer than the limit of ${maxLen} (max_seq_length / the model's context); set overlong to "truncate" to cut it`,
      );
    }
    ids.length = maxLen;
    lossMask.length = maxLen;
  }
  if (!lossMask.slice(1).some((m) => m === 1)) {
    throw new SftDataError(`line ${ex.line}: no completion token is left to learn from${ids.length === maxLen ? ` after truncation to ${maxLen} tokens` : ''}`);
  }
  return { line: ex.line, ids, lossMask };
}

/** Right-padded batch of rows: inputIds, attentionMask and lossMask, each [B, T]. */
export function padRows(rows: SftRow[], padId: number): { inputIds: number[][]; attentionMask: number[][]; lossMask: number[][]; tokens: number } {
  const t = Math.max(2, ...rows.map((r) => r.ids.length));
  const out = { inputIds: [] as number[][], attentionMask: [] as number[][], lossMask: [] as number[][], tokens: 0 };
  for (const r of rows) {
    const pad = t - r.ids.length;
    out.inputIds.push([...r.ids, ...new Array(pad).fill(padId)]);
    out.attentionMask.push([...r.ids.map(() => 1), ...new Array(pad).fill(0)]);
    out.lossMask.push([...r.lossMask, ...new Array(pad).fill(0)]);
    out.tokens += r.ids.length;
  }
  return out;
}

/** Deterministic train / eval split: a seeded shuffle, then the last round(fraction * n) rows are eval (at least 1 when fraction > 0). */
export function splitRows<T>(rows: T[], fraction: number, shuffle: (xs: number[]) => number[]): { train: T[]; eval: T[] } {
  if (fraction <= 0) return { train: rows, eval: [] };
  const order = shuffle(rows.map((_, i) => i));
  const nEval = Math.min(rows.length - 1, Math.max(1, Math.round(fraction * rows.length)));
  return { train: order.slice(0, rows.length - nEval).map((i) => rows[i]), eval: order.slice(rows.length - nEval).map((i) => rows[i]) };
}
