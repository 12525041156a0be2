// Dynamic batching for Score: concurrent callers' sequences are queued and scored together in one forward
// pass (up to maxBatchSize sequences), with limits on request size, sequence length and queue depth that
// answer RESOURCE_EXHAUSTED (as Triton / TGI dynamic batchers do).
import { ResourceExhaustedError } from '@tuneloop/service-kit';

export interface ScoreBatcherLimits {
  maxBatchSize: number; // sequences per forward pass; also the most one request may carry
  maxSequenceLength: number; // tokens per sequence (prompt + response)
  maxQueuedSequences: number; // sequences waiting; beyond it new requests are refused
  maxWaitMs: number; // how long the first queued request waits for company (0: the next tick)
  maxRequestsPerBatch?: number; // requests merged into one flush (default unlimited; 1: batching off)
  /**
   * The sequences of a flush are sorted by length and cut into forward passes whose padding stays at most this
   * fraction of their real tokens (default 0.25; Infinity: one pass per flush). Padding to the longest of 64
   * mixed-length sequences cost ~40% extra tokens on the arith task, more than merging saved.
   */
  maxPadFraction?: number;
}

/** Indices of `lengths`, sorted by length and cut into groups whose padding stays <= maxPad x their real tokens. */
export function lengthGroups(lengths: number[], maxPad: number): number[][] {
  const order = lengths.map((_, i) => i);
  if (maxPad === Infinity) return lengths.length ? [order] : [];
  order.sort((a, b) => lengths[a] - lengths[b] || a - b);
  const groups: number[][] = [];
  let cur: number[] = [];
  let real = 0;
  for (const i of order) {
    const len = lengths[i]; // the longest of `cur` with it, as sorted
    if (cur.length > 0 && (cur.length + 1) * len > (1 + maxPad) * (real + len)) {
      groups.push(cur);
      cur = [];
      real = 0;
    }
    cur.push(i);
    real += len;
  }
  if (cur.length) groups.push(cur);
  return groups;
}

interface Pending {
  seqs: number[][];
  resolve: (scores: number[]) => void;
  reject: (err: unknown) => void;
}

export interface BatcherStats {
  batches: number; // forward passes
  requests: number; // requests scored
  sequences: number;
  largestBatch: number; // sequences in the largest forward pass
}

export class ScoreBatcher {
  private queue: Pending[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  readonly stats: BatcherStats = { batches: 0, requests: 0, sequences: 0, largestBatch: 0 };

  /** `scoreBatch` scores token sequences (one number each), synchronously, in one batch. */
  constructor(
    private readonly scoreBatch: (seqs: number[][]) => number[],
    readonly limits: ScoreBatcherLimits,
  ) {
    for (const k of ['maxBatchSize', 'maxSequenceLength', 'maxQueuedSequences'] as const) {
      if (!Number.isInteger(limits[k]) || limits[k] < 1) throw new Error(`${k}: must be an integer >= 1, got ${limits[k]}`);
    }
    if (!(limits.maxWaitMs >= 0)) throw new Error(`maxWaitMs: must be >= 0, got ${limits.maxWaitMs}`);
    const r = limits.maxRequestsPerBatch;
    if (r !== undefined && !(r === Infinity || (Number.isInteger(r) && r >= 1))) throw new Error(`maxRequestsPerBatch: must be an integer >= 1, got ${r}`);
    if (limits.maxPadFraction !== undefined && !(limits.maxPadFraction >= 0)) throw new Error(`maxPadFraction: must be >= 0, got ${limits.maxPadFraction}`);
  }

  /** Scores one caller's sequences (batched with other callers'); rejects with ResourceExhaustedError beyond a limit. */
  score(seqs: number[][]): Promise<number[]> {
    const l = this.limits;
    if (seqs.length > l.maxBatchSize) return Promise.reject(new ResourceExhaustedError(`responses: at most ${l.maxBatchSize} per request, got ${seqs.length}`));
    const long = seqs.findIndex((s) => s.length > l.maxSequenceLength);
    if (long >= 0) return Promise.reject(new ResourceExhaustedError(`responses[${long}]: ${seqs[long].length} tokens, above the limit of ${l.maxSequenceLength}`));
    if (this.queued + seqs.length > l.maxQueuedSequences) {
      return Promise.reject(new ResourceExhaustedError(`score queue full (${this.queued} sequences waiting, limit ${l.maxQueuedSequences}); retry later`, { retryable: true }));
    }
    if (seqs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ seqs, resolve, reject });
      this.queued += seqs.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.timer) return;
    const full = this.queued >= this.limits.maxBatchSize || this.queue.length >= (this.limits.maxRequestsPerBatch ?? Infinity);
    if (full) this.timer = setTimeout(() => this.flush(), 0);
    else this.timer = setTimeout(() => this.flush(), this.limits.maxWaitMs);
  }

  /**
   * Scores one flush: whole requests from the head of the queue, up to maxBatchSize sequences, in forward passes
   * of similar-length sequences (maxPadFraction).
   */
  private flush(): void {
    this.timer = null;
    const take: Pending[] = [];
    let n = 0;
    const maxRequests = this.limits.maxRequestsPerBatch ?? Infinity;
    while (this.queue.length > 0 && take.length < maxRequests && n + this.queue[0].seqs.length <= this.limits.maxBatchSize) {
      const p = this.queue.shift() as Pending;
      n += p.seqs.length;
      take.push(p);
    }
    this.queued -= n;
    this.running = true;
    try {
      const seqs = take.flatMap((p) => p.seqs);
      const scores = new Array<number>(seqs.length);
      for (const group of lengthGroups(seqs.map((q) => q.length), this.limits.maxPadFraction ?? 0.25)) {
        const out = this.scoreBatch(group.map((i) => seqs[i]));
        group.forEach((i, j) => (scores[i] = out[j]));
        this.stats.batches++;
        this.stats.largestBatch = Math.max(this.stats.largestBatch, group.length);
      }
      this.stats.requests += take.length;
      this.stats.sequences += n;
      let at = 0;
      for (const p of take) {
        p.resolve(scores.slice(at, at + p.seqs.length));
        at += p.seqs.length;
      }
    } catch (err) {
      for (const p of take) p.reject(err);
    } finally {
      this.running = false;
    }
    if (this.queue.length > 0) this.schedule();
  }
}
