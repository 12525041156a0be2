// The seeded synthetic preference task: 2-digit addition prompts ("a+b=") with candidate responses of five
// kinds, a known, graded ground truth (correctness first, then conciseness, then closeness of a wrong sum) and a
// mix of pair types in which neither "shorter is better" nor "the correct one is better" alone decides.
import { createRng, type Rng } from '@tuneloop/engine';
import { isHeldOut } from '../arith.ts';

/** The kinds of candidate response, best first (see groundTruthScore for the grades). */
export const RESPONSE_KINDS = ['correct', 'correct-rambling', 'wrong-close', 'wrong-far', 'wrong-rambling'] as const;
export type ResponseKind = (typeof RESPONSE_KINDS)[number];

/** Filler appended by a rambling response (only characters of the arith alphabet). */
export const RAMBLES = [' ok', ' so yes', ' i think', ' or so', ' is it'] as const;

/** One ground-truth-ordered pair: `better` has the strictly higher groundTruthScore. */
export interface GroundTruthPair {
  prompt: string;
  better: string;
  worse: string;
  betterKind: ResponseKind;
  worseKind: ResponseKind;
  scoreGap: number; // groundTruthScore(better) - groundTruthScore(worse) > 0
}

/** Parses 'a+b=' into [a, b], or null when the prompt is not a 2-term addition. */
export function parseAddition(prompt: string): [number, number] | null {
  const m = /^(\d+)\+(\d+)=$/.exec(prompt);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/**
 * The ground truth. Score = 2 if the leading number is the right sum (0.5 if off by exactly 1 or 10, else 0)
 * + 1 if nothing follows the number (concise). So: correct 3 > correct-rambling 2 > wrong-close 1.5 >
 * wrong-far 1 > wrong-close-rambling 0.5 > wrong-far-rambling 0; no leading number (or empty) scores -1.
 */
export function groundTruthScore(prompt: string, response: string): number {
  const ab = parseAddition(prompt);
  if (!ab) throw new Error(`prompt: must be an addition 'a+b=', got ${JSON.stringify(prompt)}`);
  const m = /^(\d+)(.*)$/s.exec(response);
  if (!m) return -1;
  const diff = Math.abs(Number(m[1]) - (ab[0] + ab[1]));
  const correctness = diff === 0 ? 2 : diff === 1 || diff === 10 ? 0.5 : 0;
  return correctness + (m[2] === '' ? 1 : 0);
}

/** A wrong sum close to `s` (off by 1 or 10, kept >= 0). */
function closeWrong(s: number, rng: Rng): number {
  const deltas = [1, -1, 10, -10].filter((d) => s + d >= 0);
  return s + deltas[rng.int(deltas.length)];
}

/** A wrong 2- or 3-digit sum at least 2 and not 10 away from `s`. */
function farWrong(s: number, rng: Rng): number {
  for (;;) {
    const w = 20 + rng.int(179);
    const d = Math.abs(w - s);
    if (d >= 2 && d !== 10) return w;
  }
}

/**
 * One response of `kind` for the addition a+b. A wrong rambling response's number is close (off by 1 or 10)
 * with probability `closeRambling`, else far.
 */
export function candidateResponse(a: number, b: number, kind: ResponseKind, rng: Rng, closeRambling = 0.5): string {
  const s = a + b;
  const ramble = () => RAMBLES[rng.int(RAMBLES.length)];
  switch (kind) {
    case 'correct':
      return String(s);
    case 'correct-rambling':
      return `${s}${ramble()}`;
    case 'wrong-close':
      return String(closeWrong(s, rng));
    case 'wrong-far':
      return String(farWrong(s, rng));
    case 'wrong-rambling':
      return `${rng.next() < closeRambling ? closeWrong(s, rng) : farWrong(s, rng)}${ramble()}`;
  }
}

/** A pair type `better>worse`: the better kind first (kinds in RESPONSE_KINDS order, best first). */
export type PairType = `${ResponseKind}>${ResponseKind}`;

/**
 * The default pair mix, by the wording: the correct and concise answer is preferred over a wrong or a
 * rambling one. Weights (of 16): half the pairs differ only in style (`46` over `46 so yes`, `83` over
 * `83 or so`), where "shorter is better" is right and correctness does not decide; the other half need the sum:
 * a concise correct answer over a concise wrong one (same length), a correct rambling answer over a wrong
 * rambling one and, against the short-answer prior, over a concise wrong one. On this mix "shorter is better"
 * is right on about 69% of the pairs and "the correct one is better" (a tie counting 1/2) on 75% (see
 * `heuristicAccuracy`); the two together decide every pair. Wrong answers are far from the sum (off by 2 or
 * more, and not by 10): the tiny models of this repository do not learn to tell a near miss (off by 1 or 10)
 * from the right sum at bench budgets, so near misses are opt-in (`pairMix` with `wrong-close`,
 * `closeRambling`, or `kindWeights`).
 */
export const DEFAULT_PAIR_MIX: Readonly<Partial<Record<PairType, number>>> = Object.freeze({
  'correct>correct-rambling': 4,
  'wrong-far>wrong-rambling': 4,
  'correct>wrong-far': 3,
  'correct-rambling>wrong-far': 2,
  'correct-rambling>wrong-rambling': 3,
});

export interface PreferenceTaskOptions {
  seed: number;
  count: number; // number of pairs
  split: 'train' | 'eval'; // eval prompts are the held-out additions of the arith corpus, train prompts the rest
  /** Relative weight of each pair type; default DEFAULT_PAIR_MIX. Not with kindWeights. */
  pairMix?: Partial<Record<PairType, number>>;
  /**
   * Instead of a pair mix: the relative weight of each kind, the two kinds of a pair drawn independently (every
   * pair of distinct kinds can occur, close-over-far included).
   */
  kindWeights?: Partial<Record<ResponseKind, number>>;
  /** Probability that a wrong rambling response's number is close; default 0 with a pair mix, 0.5 with kindWeights. */
  closeRambling?: number;
}

function checkWeight(field: string, w: number): void {
  if (!(typeof w === 'number' && w >= 0 && Number.isFinite(w))) throw new Error(`${field}: must be a finite number >= 0, got ${w}`);
}

/** Draws [betterKindIndex, worseKindIndex] (or two distinct kinds in either order for kindWeights). */
function kindDrawer(opts: PreferenceTaskOptions, rng: Rng): () => [number, number] {
  if (opts.pairMix && opts.kindWeights) throw new Error('pairMix: give either pairMix or kindWeights, not both');
  const pick = (weights: number[]): number => {
    const total = weights.reduce((x, y) => x + y, 0);
    let u = rng.next() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0 && weights[i] > 0) return i;
    }
    return weights.findLastIndex((w) => w > 0);
  };
  if (opts.kindWeights) {
    const weights = RESPONSE_KINDS.map((k) => opts.kindWeights?.[k] ?? 1);
    weights.forEach((w, i) => checkWeight(`kindWeights.${RESPONSE_KINDS[i]}`, w));
    if (weights.filter((w) => w > 0).length < 2) throw new Error('kindWeights: at least two kinds need a weight > 0');
    return () => {
      const i = pick(weights);
      let j = pick(weights);
      while (j === i) j = pick(weights);
      return [i, j];
    };
  }
  const mix = Object.entries(opts.pairMix ?? DEFAULT_PAIR_MIX) as [string, number][];
  const types = mix.map(([name, w]) => {
    checkWeight(`pairMix['${name}']`, w);
    const [b, x, ...rest] = name.split('>');
    const i = RESPONSE_KINDS.indexOf(b as ResponseKind);
    const j = RESPONSE_KINDS.indexOf(x as ResponseKind);
    if (rest.length || i < 0 || j < 0) throw new Error(`pairMix['${name}']: must be 'better>worse' with kinds from ${RESPONSE_KINDS.join(', ')}`);
    if (i >= j) throw new Error(`pairMix['${name}']: the better kind must come first (order ${RESPONSE_KINDS.join(' > ')})`);
    return [i, j] as [number, number];
  });
  const weights = mix.map(([, w]) => w);
  if (!weights.some((w) => w > 0)) throw new Error('pairMix: at least one pair type needs a weight > 0');
  return () => types[pick(weights)];
}

/**
 * Seeded ground-truth pairs: a prompt from the split and two responses of different kinds (never a tie), of a
 * pair type drawn from the mix. Pairs that differ only in conciseness are easy; those that need the sum
 * (correct vs wrong, or a correct rambling answer against a concise wrong one, where "shorter is better" is
 * wrong) are not.
 */
export function preferenceTask(opts: PreferenceTaskOptions): GroundTruthPair[] {
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new Error(`count: must be an integer >= 1, got ${opts.count}`);
  if (opts.split !== 'train' && opts.split !== 'eval') throw new Error(`split: must be 'train' or 'eval', got ${JSON.stringify(opts.split)}`);
  const rng = createRng(opts.seed);
  const drawKinds = kindDrawer(opts, rng);
  const closeRambling = opts.closeRambling ?? (opts.kindWeights ? 0.5 : 0);
  if (!(closeRambling >= 0 && closeRambling <= 1)) throw new Error(`closeRambling: must be in [0, 1], got ${closeRambling}`);
  const out: GroundTruthPair[] = [];
  while (out.length < opts.count) {
    const a = 10 + rng.int(90);
    const b = 10 + rng.int(90);
    if (isHeldOut(a, b) !== (opts.split === 'eval')) continue;
    const [i, j] = drawKinds();
    const prompt = `${a}+${b}=`;
    const r1 = candidateResponse(a, b, RESPONSE_KINDS[i], rng, closeRambling);
    const r2 = candidateResponse(a, b, RESPONSE_KINDS[j], rng, closeRambling);
    const s1 = groundTruthScore(prompt, r1);
    const s2 = groundTruthScore(prompt, r2);
    if (s1 === s2) continue; // two distinct kinds never tie, but stay safe
    const first = s1 > s2;
    out.push({
      prompt,
      better: first ? r1 : r2,
      worse: first ? r2 : r1,
      betterKind: RESPONSE_KINDS[first ? i : j],
      worseKind: RESPONSE_KINDS[first ? j : i],
      scoreGap: Math.abs(s1 - s2),
    });
  }
  return out;
}

/** Whether the pair is decided by style alone: both responses equally correct, exactly one rambles. */
export function isStylePair(p: { betterKind: ResponseKind; worseKind: ResponseKind }): boolean {
  const correct = (k: ResponseKind) => k.startsWith('correct');
  const rambles = (k: ResponseKind) => k.endsWith('rambling');
  return correct(p.betterKind) === correct(p.worseKind) && rambles(p.betterKind) !== rambles(p.worseKind);
}

export type Heuristic = 'shorter' | 'correct';

/**
 * Accuracy of a one-feature judge on ground-truth pairs (a tie counts 1/2): 'shorter' prefers the shorter
 * response, 'correct' the one whose leading number is the right sum. Neither alone should solve the task.
 */
export function heuristicAccuracy(pairs: GroundTruthPair[], heuristic: Heuristic): number {
  let right = 0;
  for (const p of pairs) {
    const [x, y] =
      heuristic === 'shorter'
        ? [-p.better.length, -p.worse.length]
        : [groundTruthScore(p.prompt, p.better) >= 2 ? 1 : 0, groundTruthScore(p.prompt, p.worse) >= 2 ? 1 : 0];
    right += x > y ? 1 : x === y ? 0.5 : 0;
  }
  return right / pairs.length;
}
