// Exact-match verifier: 1 when the normalised answer equals the normalised reference, else 0
// (SQuAD's exact-match metric); optionally the answer is read from the last <answer> tag.
import { extractTag, normalizeAnswer, requireTagName } from './text.ts';
import type { ScoreFn } from './types.ts';

export interface ExactMatchOptions {
  /** Compare inside the last <tag>...</tag> of the completion (0 when absent); default: the whole completion. */
  answerTag?: string;
  /** Skip normalisation (only trim); default false. */
  strict?: boolean;
}

/**
 * @example
 * const score = exactMatch();
 * score('Capital of France?', ' The Paris. ', 'paris'); // 1
 * score('Capital of France?', 'Lyon', 'Paris');          // 0
 * score('Capital of France?', 'Paris');                   // null (no reference)
 */
export function exactMatch(options: ExactMatchOptions = {}): ScoreFn {
  const tag = options.answerTag === undefined ? undefined : requireTagName('answerTag', options.answerTag);
  const norm = options.strict ? (s: string) => s.trim() : normalizeAnswer;
  return (_prompt, completion, reference) => {
    if (reference === undefined) return null;
    const answer = tag ? extractTag(completion, tag) : completion;
    if (answer === null) return 0;
    return norm(answer) === norm(reference) ? 1 : 0;
  };
}
