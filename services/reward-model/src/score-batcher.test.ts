// ScoreBatcher: concurrent callers share forward passes, answers keep their order, limits answer RESOURCE_EXHAUSTED.
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { lengthGroups, ScoreBatcher } from './score-batcher.ts';

const sum = (s: number[]) => s.reduce((a, b) => a + b, 0);
const limits = { maxBatchSize: 8, maxSequenceLength: 6, maxQueuedSequences: 20, maxWaitMs: 2 };

describe('ScoreBatcher', () => {
  it('batches concurrent callers and returns each its own scores in order', async () => {
    const calls: number[] = [];
    const b = new ScoreBatcher((seqs) => {
      calls.push(seqs.length);
      return seqs.map(sum);
    }, { ...limits, maxPadFraction: Infinity }); // one forward pass per flush (length grouping: next test)
    const reqs = Array.from({ length: 6 }, (_, i) => [[i, 1], [i, 2, 3]]);
    const out = await Promise.all(reqs.map((r) => b.score(r)));
    out.forEach((o, i) => expect(o).toEqual([i + 1, i + 5]));
    expect(calls).toEqual([8, 4]); // 12 sequences: one full batch of 4 requests, then the rest
    expect(b.stats).toEqual({ batches: 2, requests: 6, sequences: 12, largestBatch: 8 });
  });
  it('maxRequestsPerBatch 1 turns batching off: one forward pass per request, whole requests still', async () => {
    const calls: number[] = [];
    const b = new ScoreBatcher((seqs) => {
      calls.push(seqs.length);
      return seqs.map(sum);
    }, { ...limits, maxWaitMs: 0, maxRequestsPerBatch: 1, maxPadFraction: Infinity });
    const out = await Promise.all(Array.from({ length: 5 }, (_, i) => b.score([[i], [i, 1]])));
    out.forEach((o, i) => expect(o).toEqual([i, i + 1]));
    expect(calls).toEqual([2, 2, 2, 2, 2]);
    expect(b.stats).toEqual({ batches: 5, requests: 5, sequences: 10, largestBatch: 2 });
    expect(() => new ScoreBatcher((s) => s.map(sum), { ...limits, maxRequestsPerBatch: 0 })).toThrow('maxRequestsPerBatch: must be an integer >= 1, got 0');
  });
  it('cuts a flush into forward passes of similar lengths (padding <= maxPadFraction of the real tokens)', async () => {
    expect(lengthGroups([10, 30, 11, 31, 12], 0.25)).toEqual([[0, 2, 4], [1, 3]]);
    expect(lengthGroups([10, 30, 11], Infinity)).toEqual([[0, 1, 2]]);
    expect(lengthGroups([5, 5, 5, 5], 0)).toEqual([[0, 1, 2, 3]]);
    expect(lengthGroups([], 0.25)).toEqual([]);
    const calls: number[][] = [];
    const b = new ScoreBatcher((seqs) => {
      calls.push(seqs.map((q) => q.length));
      return seqs.map(sum);
    }, { ...limits, maxSequenceLength: 8 });
    const short = [1, 1];
    const long = [1, 1, 1, 1, 1, 1, 1, 1];
    const out = await Promise.all([b.score([short, long]), b.score([long, short])]);
    expect(out).toEqual([[2, 8], [8, 2]]);
    expect(calls).toEqual([[2, 2], [8, 8]]);
    expect(b.stats).toEqual({ batches: 2, requests: 2, sequences: 4, largestBatch: 2 });
  });
  it('refuses requests beyond the limits with RESOURCE_EXHAUSTED', async () => {
    const b = new ScoreBatcher((seqs) => seqs.map(sum), limits);
    await expect(b.score(Array.from({ length: 9 }, () => [1]))).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED, message: 'responses: at most 8 per request, got 9' });
    await expect(b.score([[1], [1, 2, 3, 4, 5, 6, 7]])).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED, message: 'responses[1]: 7 tokens, above the limit of 6' });
    const many = Array.from({ length: 2 }, () => b.score(Array.from({ length: 7 }, () => [1])));
    await expect(b.score(Array.from({ length: 7 }, () => [1]))).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED, retryable: true });
    expect((await Promise.all(many)).flat()).toHaveLength(14);
    expect(await b.score([])).toEqual([]);
  });
  it('passes a scoring failure to every caller of that batch', async () => {
    const b = new ScoreBatcher(() => {
      throw new Error('model exploded');
    }, limits);
    const r = await Promise.allSettled([b.score([[1]]), b.score([[2]])]);
    expect(r.map((x) => x.status)).toEqual(['rejected', 'rejected']);
  });
});
