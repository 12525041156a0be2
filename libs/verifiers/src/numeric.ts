// Numeric-answer verifier (as GSM8K / MATH graders): extract the final number of the completion
// (after '####' or in \boxed{} when present, else the last number) and compare with the reference
// within a tolerance: |a - r| <= max(absTol, relTol * |r|).
import { VerifierConfigError, type ScoreFn } from './types.ts';

export interface NumericOptions {
  /** Absolute tolerance, >= 0; default 1e-6. */
  absTol?: number;
  /** Relative tolerance, >= 0; default 0. */
  relTol?: number;
}

const NUMBER = /[-+]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?/g;

/** The final number of a text: after the last '####', else inside the last \boxed{}, else the last number. */
export function extractFinalNumber(text: string): number | null {
  const hash = text.lastIndexOf('####');
  const boxed = [...text.matchAll(/\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}/g)].pop();
  const marked = hash >= 0 || boxed !== undefined;
  // LaTeX fractions inside the answer: \frac{3}{4} / \dfrac{3}{4} -> 3/4
  const region = (hash >= 0 ? text.slice(hash + 4) : boxed ? boxed[1] : text).replace(/\\d?frac\{([^{}]*)\}\{([^{}]*)\}/g, '$1/$2');
  const fraction = marked ? /^\s*([-+]?\d+)\s*\/\s*(\d+)\s*$/.exec(region) : null;
  if (fraction && Number(fraction[2]) !== 0) return Number(fraction[1]) / Number(fraction[2]);
  const candidates = [...region.matchAll(NUMBER)].map((m) => m[0]);
  if (candidates.length === 0) return null;
  // Within an explicit answer marker the first number is the answer; in free text the last one.
  const value = Number((marked ? candidates[0] : candidates[candidates.length - 1]).replace(/,/g, ''));
  return Number.isFinite(value) ? value : null;
}

/**
 * @example
 * const score = numericAnswer({ absTol: 1e-6 });
 * score('What is 6 * 7?', 'Six sevens are 42.', '42');    // 1
 * score('What is 6 * 7?', 'So the answer is 1,042', '1042'); // 1
 * score('What is 6 * 7?', 'I think 41', '#### 42');        // 0
 * score('What is 6 * 7?', 'no idea', '42');                // 0
 */
export function numericAnswer(options: NumericOptions = {}): ScoreFn {
  const absTol = options.absTol ?? 1e-6;
  const relTol = options.relTol ?? 0;
  if (!Number.isFinite(absTol) || absTol < 0) throw new VerifierConfigError('absTol', `must be a finite number >= 0, got ${absTol}`);
  if (!Number.isFinite(relTol) || relTol < 0) throw new VerifierConfigError('relTol', `must be a finite number >= 0, got ${relTol}`);
  return (_prompt, completion, reference) => {
    if (reference === undefined) return null;
    const expected = extractFinalNumber(reference);
    if (expected === null) return null;
    const got = extractFinalNumber(completion);
    if (got === null) return 0;
    return Math.abs(got - expected) <= Math.max(absTol, relTol * Math.abs(expected)) ? 1 : 0;
  };
}
