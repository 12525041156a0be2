// Next-token choice from logits, in Hugging Face's processor order: repetition penalty (CTRL, Keskar et al.
// 2019), temperature, top-k, top-p (nucleus, Holtzman et al. 2020), min-p (Nguyen et al. 2024); then sample.
import type { Rng } from '@tuneloop/engine';

export interface SamplingOptions {
  temperature?: number; // 0 = greedy (default 1)
  topK?: number; // keep the k most likely tokens (0 = off)
  topP?: number; // keep the smallest set with cumulative probability >= p (1 = off)
  minP?: number; // drop tokens with p < minP * p_max (0 = off)
  repetitionPenalty?: number; // > 1 discourages tokens already present (1 = off)
}

export function validateSampling(o: SamplingOptions): void {
  const t = o.temperature ?? 1;
  if (!(t >= 0) || !Number.isFinite(t)) throw new Error(`temperature: must be a finite number >= 0, got ${t}`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0)) throw new Error(`topK: must be an integer >= 0, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new Error(`topP: must be in (0, 1], got ${o.topP}`);
  if (o.minP !== undefined && !(o.minP >= 0 && o.minP <= 1)) throw new Error(`minP: must be in [0, 1], got ${o.minP}`);
  if (o.repetitionPenalty !== undefined && !(o.repetitionPenalty > 0)) {
    throw new Error(`repetitionPenalty: must be > 0, got ${o.repetitionPenalty}`);
  }
}

/** Index of the largest value (first on ties). */
export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/** log_softmax(logits)[id], in float64. */
export function logSoftmaxAt(logits: ArrayLike<number>, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return logits[id] - max - Math.log(sum);
}

/** Applies the CTRL repetition penalty in place: seen tokens' logits are divided (if > 0) or multiplied by `penalty`. */
export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(seen)) logits[id] = logits[id] > 0 ? logits[id] / penalty : logits[id] * penalty;
}

/** Probabilities after temperature, top-k, top-p and min-p (zeros for removed tokens). */
export function filteredProbs(logits: Float32Array, o: SamplingOptions): Float64Array {
  const n = logits.length;
  const t = o.temperature ?? 1;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  const p = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += p[i] = Math.exp((logits[i] - max) / t);
  for (let i = 0; i < n; i++) p[i] /= sum;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
  let keep = n;
  if (o.topK && o.topK > 0) keep = Math.min(keep, o.topK);
  if (o.topP !== undefined && o.topP < 1) {
    let cum = 0;
    for (let r = 0; r < keep; r++) {
      cum += p[order[r]];
      if (cum >= o.topP) {
        keep = r + 1;
        break;
      }
    }
  }
  if (o.minP && o.minP > 0) {
    const floor = o.minP * p[order[0]];
    let r = 1;
    while (r < keep && p[order[r]] >= floor) r++;
    keep = r;
  }
  let kept = 0;
  for (let r = 0; r < n; r++) {
    if (r >= keep) p[order[r]] = 0;
    else kept += p[order[r]];
  }
  for (let i = 0; i < n; i++) p[i] /= kept;
  return p;
}

/** Chooses the next token: argmax when temperature is 0, else a draw from filteredProbs with `rng`. */
export function sampleToken(logits: Float32Array, o: SamplingOptions, rng: Rng): number {
  if ((o.temperature ?? 1) === 0) return argmax(logits);
  const p = filteredProbs(logits, o);
  const u = rng.next();
  let cum = 0;
  let last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    cum += p[i];
    last = i;
    if (u < cum) return i;
  }
  return last;
}
