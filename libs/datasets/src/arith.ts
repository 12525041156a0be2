// The seeded synthetic "arith" corpus: additions "12+34=46", a little subtraction, and short instruction-like
// text. 2-digit additions are split deterministically into train and held-out pairs (by a hash of the pair),
// so a model can be scored on sums it never saw.
import { createRng } from '@tuneloop/engine';

/** Every character the corpus uses (the tiny model's alphabet). */
export const ARITH_ALPHABET = '0123456789+-=?:., abcdefghijklmnopqrstuvwxyz\n';

export interface ArithExample {
  prompt: string; // e.g. '12+34='
  completion: string; // e.g. '46'
}

/** True for the held-out 2-digit pairs (about `heldOutFraction` of all (a, b) with 10 <= a, b <= 99). */
export function isHeldOut(a: number, b: number, heldOutFraction = 0.1): boolean {
  let h = Math.imul(a * 131 + b, 0x9e3779b1) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> 0;
  return ((h ^ (h >>> 13)) >>> 0) % 1000 < heldOutFraction * 1000;
}

/** The held-out 2-digit additions, in a fixed order (the evaluation set). */
export function heldOutAdditions(heldOutFraction = 0.1): ArithExample[] {
  const out: ArithExample[] = [];
  for (let a = 10; a <= 99; a++) {
    for (let b = 10; b <= 99; b++) {
      if (isHeldOut(a, b, heldOutFraction)) out.push({ prompt: `${a}+${b}=`, completion: String(a + b) });
    }
  }
  return out;
}

const WORDS = ['cat', 'dog', 'sun', 'tree', 'book', 'red', 'blue', 'fish', 'bird', 'star', 'moon', 'cup'];

export interface ArithCorpusOptions {
  seed: number; // same seed, same corpus
  heldOutFraction?: number; // default 0.1
  textFraction?: number; // share of instruction-like lines, default 0.2
}

/**
 * An endless seeded stream of training examples. Most are 2-digit additions "a+b=" -> "c" with the held-out
 * pairs excluded from every form; the rest are 1-digit sums, subtractions and short instructions.
 */
export function* arithCorpus(opts: ArithCorpusOptions): Generator<ArithExample> {
  const rng = createRng(opts.seed);
  const held = opts.heldOutFraction ?? 0.1;
  const textFrac = opts.textFraction ?? 0.2;
  const pair = (): [number, number] => {
    for (;;) {
      const a = 10 + rng.int(90);
      const b = 10 + rng.int(90);
      if (!isHeldOut(a, b, held)) return [a, b];
    }
  };
  for (;;) {
    const r = rng.next();
    if (r >= textFrac) {
      const k = rng.next();
      if (k < 0.85) {
        const [a, b] = pair();
        yield { prompt: `${a}+${b}=`, completion: String(a + b) };
      } else if (k < 0.93) {
        const a = rng.int(10);
        const b = rng.int(10);
        yield { prompt: `${a}+${b}=`, completion: String(a + b) };
      } else {
        const a = rng.int(100);
        const b = rng.int(a + 1);
        yield { prompt: `${a}-${b}=`, completion: String(a - b) };
      }
      continue;
    }
    const kind = rng.int(5);
    if (kind === 0) {
      const [a, b] = pair();
      yield { prompt: `what is ${a} plus ${b}? `, completion: String(a + b) };
    } else if (kind === 1) {
      const [a, b] = pair();
      yield { prompt: `add ${a} and ${b}: `, completion: String(a + b) };
    } else if (kind === 2) {
      const start = rng.int(20);
      yield { prompt: `count from ${start}: `, completion: [0, 1, 2, 3].map((i) => start + i).join(' ') };
    } else if (kind === 3) {
      const w = WORDS[rng.int(WORDS.length)];
      yield { prompt: `repeat ${w}: `, completion: `${w} ${w}` };
    } else {
      const w = WORDS[rng.int(WORDS.length)];
      yield { prompt: `spell ${w}: `, completion: Array.from(w).join(' ') };
    }
  }
}

/** The first `n` examples of the corpus for `seed`. */
export function takeArith(opts: ArithCorpusOptions, n: number): ArithExample[] {
  const out: ArithExample[] = [];
  for (const ex of arithCorpus(opts)) {
    if (out.length >= n) break;
    out.push(ex);
  }
  return out;
}
