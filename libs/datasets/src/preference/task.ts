// The seeded synthetic preference task: 2-digit addition prompts ("a+b=") with candidate responses of five
// kinds and a known, graded ground truth (correctness first, then conciseness, then closeness of a wrong sum).
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

/** One response of `kind` for the addition a+b. */
export function candidateResponse(a: number, b: number, kind: ResponseKind, rng: Rng): string {
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
      return `${rng.next() < 0.5 ? closeWrong(s, rng) : farWrong(s, rng)}${ramble()}`;
  }
}

export interface PreferenceTaskOptions {
  seed: number;
  count: number; // number of pairs
  split: 'train' | 'eval'; // eval prompts are the held-out additions of the arith corpus, train prompts the rest
  /** Relative weight of each kind when drawing the two responses of a pair; default uniform. */
  kindWeights?: Partial<Record<ResponseKind, number>>;
}

/**
 * Seeded ground-truth pairs: a prompt from the split, two responses of different kinds (so never a tie).
 * Pairs that differ only in conciseness are easy; those that need the sum (correct vs wrong, or a correct
 * rambling answer against a concise wrong one, where "shorter is better" is wrong) are not.
 */
export function preferenceTask(opts: PreferenceTaskOptions): GroundTruthPair[] {
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new Error(`count: must be an integer >= 1, got ${opts.count}`);
  if (opts.split !== 'train' && opts.split !== 'eval') throw new Error(`split: must be 'train' or 'eval', got ${JSON.stringify(opts.split)}`);
  const weights = RESPONSE_KINDS.map((k) => opts.kindWeights?.[k] ?? 1);
  weights.forEach((w, i) => {
    if (!(w >= 0)) throw new Error(`kindWeights.${RESPONSE_KINDS[i]}: must be >= 0, got ${w}`);
  });
  if (weights.filter((w) => w > 0).length < 2) throw new Error('kindWeights: at least two kinds need a weight > 0');
  const total = weights.reduce((x, y) => x + y, 0);
  const rng = createRng(opts.seed);
  const drawKind = (): number => {
    let u = rng.next() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0 && weights[i] > 0) return i;
    }
    return weights.findLastIndex((w) => w > 0);
  };
  const out: GroundTruthPair[] = [];
  while (out.length < opts.count) {
    const a = 10 + rng.int(90);
    const b = 10 + rng.int(90);
    if (isHeldOut(a, b) !== (opts.split === 'eval')) continue;
    const i = drawKind();
    let j = drawKind();
    while (j === i) j = drawKind();
    const prompt = `${a}+${b}=`;
    const r1 = candidateResponse(a, b, RESPONSE_KINDS[i], rng);
    const r2 = candidateResponse(a, b, RESPONSE_KINDS[j], rng);
    const s1 = groundTruthScore(prompt, r1);
    const s2 = groundTruthScore(prompt, r2);
    if (s1 === s2) continue; // a wrong-rambling response can tie nothing else, but stay safe
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
