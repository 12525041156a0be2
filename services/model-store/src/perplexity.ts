// Perplexity of a token sequence under a CausalLM over non-overlapping windows: in each window of
// `window` tokens every token after the window's first is scored; ppl = exp(mean NLL).
import * as tf from '@tensorflow/tfjs-core';
import { sequenceLogprobs, type CausalLM } from '@tuneloop/model';

export interface Perplexity {
  tokens: number;
  nll: number;
  perplexity: number;
}

export async function perplexity(model: CausalLM, ids: number[], window: number, batchSize = 8): Promise<Perplexity> {
  if (!Number.isInteger(window) || window < 2) throw new Error(`window: must be an integer >= 2, got ${window}`);
  const windows: number[][] = [];
  for (let i = 0; i + 1 < ids.length; i += window) windows.push(ids.slice(i, i + window));
  if (windows.length > 1 && windows[windows.length - 1].length < 2) windows.pop();
  if (windows.length === 0) throw new Error(`text: needs at least 2 tokens, got ${ids.length}`);
  let sum = 0;
  let n = 0;
  for (let k = 0; k < windows.length; k += batchSize) {
    const group = windows.slice(k, k + batchSize);
    const t = Math.max(...group.map((w) => w.length));
    const inputIds = group.map((w) => [...w, ...new Array<number>(t - w.length).fill(0)]);
    const attentionMask = group.map((w) => Array.from({ length: t }, (_, j) => (j < w.length ? 1 : 0)));
    const lp = tf.tidy(() => {
      const r = sequenceLogprobs(model, { inputIds, attentionMask, completionMask: attentionMask });
      return tf.stack([tf.sum(tf.mul(r.logprobs, r.mask)), tf.sum(r.mask)]);
    });
    const [s, c] = await lp.data();
    lp.dispose();
    sum += s;
    n += c;
  }
  const nll = -sum / n;
  return { tokens: n, nll, perplexity: Math.exp(nll) };
}
