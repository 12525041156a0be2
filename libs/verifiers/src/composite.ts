// Weighted composite of verifiers, as TRL's multiple reward functions with reward_weights: the
// weighted sum of the parts' scores, skipping parts that return null; null when every part does.
import { VerifierConfigError, type Score, type Verifier } from './types.ts';

export interface CompositePart {
  verifier: Verifier;
  /** Finite weight (may be negative, e.g. for a penalty); default 1. */
  weight?: number;
}

/**
 * @example
 * const v = composite([
 *   { verifier: verifierFromFn('numeric', numericAnswer()), weight: 1 },
 *   { verifier: verifierFromFn('format', formatCheck({ tags: ['answer'] })), weight: 0.2 },
 * ]);
 * await v.score('6*7?', '<answer>42</answer>', '42'); // 1.2
 */
export function composite(parts: CompositePart[], name = 'composite'): Verifier {
  if (!Array.isArray(parts) || parts.length === 0) throw new VerifierConfigError('parts', 'must be a non-empty array');
  const weights = parts.map((p, i) => {
    const w = p.weight ?? 1;
    if (!Number.isFinite(w)) throw new VerifierConfigError(`parts[${i}].weight`, `must be a finite number, got ${w}`);
    return w;
  });
  const combine = (scores: Score[]): Score => {
    let sum = 0;
    let any = false;
    scores.forEach((s, i) => {
      if (s === null) return;
      any = true;
      sum += weights[i] * s;
    });
    return any ? sum : null;
  };
  return {
    name,
    score: async (p, c, r) => combine(await Promise.all(parts.map((part) => part.verifier.score(p, c, r)))),
    scoreGroup: async (p, cs, r) => {
      const perPart = await Promise.all(parts.map((part) => part.verifier.scoreGroup(p, cs, r))); // [part][completion]
      return cs.map((_, j) => combine(perPart.map((scores) => scores[j])));
    },
  };
}
