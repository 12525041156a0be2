// Regular-expression verifier: 1 when the completion matches the pattern (anywhere, or the whole
// completion with fullMatch), else 0. The pattern is compiled once, at construction.
import { VerifierConfigError, type ScoreFn } from './types.ts';

export interface RegexOptions {
  pattern: string;
  /** JavaScript RegExp flags, e.g. 'i' or 's'; 'g' and 'y' are not allowed (stateful). */
  flags?: string;
  /** Require the whole (trimmed) completion to match; default false. */
  fullMatch?: boolean;
}

/**
 * @example
 * const score = regexMatch({ pattern: '^Answer: \\d+$', flags: 'm' });
 * score('2+2?', 'Let me think.\nAnswer: 4'); // 1
 * score('2+2?', 'Answer: four');             // 0
 */
export function regexMatch(options: RegexOptions): ScoreFn {
  if (typeof options?.pattern !== 'string') throw new VerifierConfigError('pattern', 'must be a string');
  const flags = options.flags ?? '';
  if (/[gy]/.test(flags)) throw new VerifierConfigError('flags', `must not contain 'g' or 'y', got '${flags}'`);
  const source = options.fullMatch ? `^(?:${options.pattern})$` : options.pattern;
  let re: RegExp;
  try {
    re = new RegExp(source, flags);
  } catch (err) {
    throw new VerifierConfigError('pattern', `is not a valid regular expression: ${(err as Error).message}`);
  }
  return (_prompt, completion) => (re.test(options.fullMatch ? completion.trim() : completion) ? 1 : 0);
}
