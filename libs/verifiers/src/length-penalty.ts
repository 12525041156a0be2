// Length penalty: DAPO's soft overlong punishment (Yu et al. 2025, Eq. 13): 0 up to
// maxLength - cacheLength, then falling linearly to -1 at maxLength, -1 beyond. Length is counted
// in characters, whitespace-separated words, or by an injected counter (e.g. a tokenizer).
import { VerifierConfigError, type ScoreFn } from './types.ts';

export interface LengthPenaltyOptions {
  /** Hard limit L_max (> 0). */
  maxLength: number;
  /** Width of the soft band L_cache, 0 < cacheLength <= maxLength. */
  cacheLength: number;
  /** 'chars' (default) or 'words'. */
  unit?: 'chars' | 'words';
  /** Custom length (e.g. tokens); overrides unit. */
  count?: (completion: string) => number;
}

/**
 * @example
 * const score = lengthPenalty({ maxLength: 100, cacheLength: 20, unit: 'chars' });
 * score('p', 'x'.repeat(80));  // 0
 * score('p', 'x'.repeat(90));  // -0.5
 * score('p', 'x'.repeat(120)); // -1
 */
export function lengthPenalty(options: LengthPenaltyOptions): ScoreFn {
  const { maxLength, cacheLength } = options ?? ({} as LengthPenaltyOptions);
  if (!Number.isFinite(maxLength) || maxLength <= 0) throw new VerifierConfigError('maxLength', `must be a number > 0, got ${maxLength}`);
  if (!Number.isFinite(cacheLength) || cacheLength <= 0 || cacheLength > maxLength) {
    throw new VerifierConfigError('cacheLength', `must be in (0, maxLength = ${maxLength}], got ${cacheLength}`);
  }
  const unit = options.unit ?? 'chars';
  if (unit !== 'chars' && unit !== 'words') throw new VerifierConfigError('unit', `must be 'chars' or 'words', got '${unit}'`);
  const count = options.count ?? (unit === 'chars' ? (s: string) => [...s].length : (s: string) => s.split(/\s+/).filter(Boolean).length);
  return (_prompt, completion) => {
    const n = count(completion);
    const soft = maxLength - cacheLength;
    if (n <= soft) return 0;
    if (n <= maxLength) return (soft - n) / cacheLength;
    return -1;
  };
}
