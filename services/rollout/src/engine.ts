// The rollout workers' generation engine: batched KV-cache decoding (the same steps, sampling and seeds as
// @tuneloop/model's generate(), so results are identical token for token) but asynchronous: it yields to the
// event loop after every decoding step, so token events go out as they are made, a cancelled sequence stops
// at the next step, and a worker (or the service's in-process worker) stays responsive while it generates.
// Each sequence has its own sampling settings, seed, length limit and stop strings, which is what lets the
// Batcher below merge the sequences of concurrent requests into one forward pass per step.
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@tuneloop/engine';
import {
  applyRepetitionPenalty,
  eosIdsOf,
  KvCache,
  logSoftmaxAt,
  sampleToken,
  validateSampling,
  type CausalLM,
  type FinishReason,
  type Generation,
  type SamplingOptions,
} from '@tuneloop/model';

/** One token as it is generated. */
export interface TokenEvent {
  step: number; // 0-based position of this token in the completion
  token: number;
  logprob: number; // log p(token) under the policy (log_softmax of raw logits)
  textDelta: string; // new text since the previous event (held back while it could still become a stop string)
  finishReason?: FinishReason; // set on the sequence's last event
}

export interface SequenceSpec {
  promptIds: number[];
  sampling: SamplingOptions;
  maxNewTokens: number;
  seed: number;
  stopStrings?: string[];
  onToken?: (ev: TokenEvent) => void;
  /** checked before every step: true stops the sequence (finish reason 'length', no further events) */
  cancelled?: () => boolean;
}

export interface EngineOptions {
  eosTokenIds?: number[]; // default: the config's
  padTokenId?: number;
  decode: (ids: number[]) => string;
  /** called after every step, before yielding (e.g. a job heartbeat) */
  onStep?: (step: number) => void;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Longest suffix of `text` that is a proper prefix of a stop string (text that must not be streamed yet). */
function stopPrefixLength(text: string, stops: string[]): number {
  let best = 0;
  for (const s of stops) {
    for (let n = Math.min(s.length - 1, text.length); n > best; n--) {
      if (text.endsWith(s.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}

/** Final text of a completion, as generate() computes it: without the EOS, cut before a stop string. */
function finalText(tokens: number[], reason: FinishReason, stops: string[], decode: (ids: number[]) => string): string {
  const body = reason === 'eos' ? tokens.slice(0, -1) : tokens;
  let text = body.length > 0 ? decode(body) : '';
  if (reason === 'stop') text = text.slice(0, Math.min(...stops.filter((s) => s && text.includes(s)).map((s) => text.indexOf(s))));
  return text;
}

/** Generates every sequence in one left-padded batch; resolves when all finished or were cancelled. */
export async function generateSteps(model: CausalLM, seqs: SequenceSpec[], o: EngineOptions): Promise<Generation[]> {
  if (seqs.length === 0) return [];
  seqs.forEach((s, i) => {
    validateSampling(s.sampling);
    if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens < 1) throw new Error(`sequences[${i}].maxNewTokens: must be an integer >= 1, got ${s.maxNewTokens}`);
    if (s.promptIds.length === 0) throw new Error(`sequences[${i}].promptIds: must hold at least 1 token`);
  });
  const b = seqs.length;
  const eos = new Set(o.eosTokenIds ?? eosIdsOf(model.config));
  const pad = o.padTokenId ?? model.config.padTokenId ?? [...eos][0] ?? 0;
  const rngs = seqs.map((s) => createRng(s.seed));
  const len = Math.max(...seqs.map((s) => s.promptIds.length));
  const out: Generation[] = seqs.map(() => ({ tokens: [], text: '', logprobs: [], finishReason: 'length' }));
  const streamed = seqs.map(() => ''); // text already sent in events
  const done = seqs.map(() => false);
  const maxSteps = Math.max(...seqs.map((s) => s.maxNewTokens));
  const v = model.config.vocabSize;
  const cache = new KvCache();
  try {
    let stepIds = seqs.map((s) => [...new Array(len - s.promptIds.length).fill(pad), ...s.promptIds]); // [B, T0] left-padded
    let stepMask = seqs.map((s) => [...new Array(len - s.promptIds.length).fill(0), ...new Array(s.promptIds.length).fill(1)]);
    for (let step = 0; step < maxSteps; step++) {
      seqs.forEach((s, i) => {
        if (!done[i] && s.cancelled?.()) done[i] = true;
      });
      if (done.every(Boolean)) break;
      const logits = tf.tidy(() => model.forward({ inputIds: stepIds, attentionMask: stepMask }, { cache, lastOnly: true }));
      const all = (await logits.data()) as Float32Array; // [B, 1, V]
      logits.dispose();
      const next: number[] = [];
      for (let i = 0; i < b; i++) {
        const s = seqs[i];
        if (done[i]) {
          next.push(pad);
          continue;
        }
        const raw = all.subarray(i * v, (i + 1) * v);
        const work = Float32Array.from(raw);
        const penalty = s.sampling.repetitionPenalty ?? 1;
        if (penalty !== 1) applyRepetitionPenalty(work, [...s.promptIds, ...out[i].tokens], penalty);
        const tok = sampleToken(work, s.sampling, rngs[i]);
        const lp = logSoftmaxAt(raw, tok);
        const g = out[i];
        g.tokens.push(tok);
        g.logprobs.push(lp);
        const stops = s.stopStrings?.filter((x) => x.length > 0) ?? [];
        if (eos.has(tok)) {
          g.finishReason = 'eos';
          done[i] = true;
        } else if (stops.length > 0 && stops.some((x) => o.decode(g.tokens).includes(x))) {
          g.finishReason = 'stop';
          done[i] = true;
        } else if (g.tokens.length >= s.maxNewTokens) {
          done[i] = true; // 'length'
        }
        if (s.onToken) {
          let textDelta = '';
          if (done[i]) {
            g.text = finalText(g.tokens, g.finishReason, stops, o.decode);
            textDelta = g.text.slice(streamed[i].length);
          } else {
            const text = o.decode(g.tokens);
            // hold back a possible stop-string start and an incomplete UTF-8 character (U+FFFD at the end)
            const safe = text.slice(0, text.length - stopPrefixLength(text, stops)).replace(/\uFFFD+$/, '');
            if (safe.startsWith(streamed[i]) && safe.length > streamed[i].length) textDelta = safe.slice(streamed[i].length);
          }
          streamed[i] += textDelta;
          try {
            s.onToken({ step, token: tok, logprob: lp, textDelta, ...(done[i] ? { finishReason: g.finishReason } : {}) });
          } catch {
            done[i] = true; // its listener is broken: stop this sequence, not its batch mates
          }
        }
        next.push(tok);
      }
      o.onStep?.(step);
      if (done.every(Boolean)) break;
      stepIds = next.map((t) => [t]); // [B, 1]
      stepMask = next.map(() => [1]);
      await yieldToLoop();
    }
  } finally {
    cache.dispose();
  }
  out.forEach((g, i) => {
    g.text = finalText(g.tokens, g.finishReason, seqs[i].stopStrings?.filter((x) => x.length > 0) ?? [], o.decode);
  });
  return out;
}

/** Result of one submission: its generations and the size of the generation call that made them. */
export interface BatchedGenerations {
  generations: Generation[];
  batchSequences: number; // sequences in the merged batch (this submission's and its batch mates')
  batchSubmissions: number; // submissions merged into it
}

interface Pending {
  key: string;
  model: CausalLM;
  opts: EngineOptions;
  seqs: SequenceSpec[];
  resolve: (r: BatchedGenerations) => void;
  reject: (e: unknown) => void;
}

export interface BatcherOptions {
  maxSequences: number; // most sequences in one merged batch (a larger submission runs alone)
  gatherMs: number; // how long an idle engine waits for batch mates before starting
}

/**
 * Merges concurrent submissions for the same model into one generation call (FIFO, up to maxSequences), one
 * call at a time per process: decoding is CPU-bound, so running two at once would only interleave them.
 */
export class Batcher {
  private readonly queue: Pending[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly o: BatcherOptions) {}

  /** Queued submissions (not yet generating). */
  get waiting(): number {
    return this.queue.length;
  }

  submit(key: string, model: CausalLM, opts: EngineOptions, seqs: SequenceSpec[]): Promise<BatchedGenerations> {
    return new Promise((resolve, reject) => {
      this.queue.push({ key, model, opts, seqs, resolve, reject });
      this.schedule(this.o.gatherMs);
    });
  }

  private schedule(ms: number): void {
    if (this.running || this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runOne();
    }, ms);
  }

  private async runOne(): Promise<void> {
    this.running = true;
    const first = this.queue[0];
    const take: Pending[] = [];
    let n = 0;
    for (let i = 0; i < this.queue.length; ) {
      const p = this.queue[i];
      if (p.key === first.key && (take.length === 0 || n + p.seqs.length <= this.o.maxSequences)) {
        take.push(p);
        n += p.seqs.length;
        this.queue.splice(i, 1);
      } else {
        i++;
      }
    }
    try {
      const onSteps = take.map((p) => p.opts.onStep).filter((f) => f !== undefined);
      const gens = await generateSteps(first.model, take.flatMap((p) => p.seqs), { ...first.opts, onStep: (s) => onSteps.forEach((f) => f(s)) });
      let at = 0;
      for (const p of take) {
        p.resolve({ generations: gens.slice(at, at + p.seqs.length), batchSequences: n, batchSubmissions: take.length });
        at += p.seqs.length;
      }
    } catch (err) {
      for (const p of take) p.reject(err);
    } finally {
      this.running = false;
      this.schedule(0);
    }
  }
}
