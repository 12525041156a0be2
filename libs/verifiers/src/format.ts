// Format verifier (as the R1-style format reward of TRL / DeepSeek-R1, Guo et al. 2025 Sec. 2.2.2):
// 1 when each of the given tags appears exactly once, as <tag>...</tag>, in the given order;
// with strict, nothing but whitespace may surround or separate the blocks.
import { requireTagName } from './text.ts';
import { VerifierConfigError, type ScoreFn } from './types.ts';

export interface FormatOptions {
  /** Tags that must appear in this order, e.g. ['think', 'answer']; default ['answer']. */
  tags?: string[];
  /** Only whitespace outside the tag blocks; default false. */
  strict?: boolean;
}

/**
 * @example
 * const score = formatCheck({ tags: ['think', 'answer'], strict: true });
 * score('2+2?', '<think>2 and 2</think>\n<answer>4</answer>'); // 1
 * score('2+2?', 'The answer is <answer>4</answer>');          // 0 (no think block)
 */
export function formatCheck(options: FormatOptions = {}): ScoreFn {
  const tags = options.tags ?? ['answer'];
  if (!Array.isArray(tags) || tags.length === 0) throw new VerifierConfigError('tags', 'must be a non-empty array of tag names');
  tags.forEach((t, i) => requireTagName(`tags[${i}]`, t));
  const sep = options.strict ? '\\s*' : '[\\s\\S]*?';
  const body = tags.map((t) => `<${t}>[\\s\\S]*?</${t}>`).join(sep);
  const re = options.strict ? new RegExp(`^\\s*${body}\\s*$`) : new RegExp(body);
  const count = (s: string, needle: string) => s.split(needle).length - 1;
  return (_prompt, completion) => {
    for (const t of tags) {
      if (count(completion, `<${t}>`) !== 1 || count(completion, `</${t}>`) !== 1) return 0;
    }
    return re.test(completion) ? 1 : 0;
  };
}
