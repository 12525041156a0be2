// Text helpers shared by the verifiers: SQuAD-style answer normalisation (Rajpurkar et al. 2016,
// official evaluation script) and extraction of the last <tag>...</tag> block of a completion.
import { VerifierConfigError } from './types.ts';

/** Lower-cases, drops punctuation and the articles a/an/the, collapses whitespace. */
export function normalizeAnswer(s: string): string {
  return s
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, ' ')
    .replace(/\b(a|an|the)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function requireTagName(field: string, tag: unknown): string {
  if (typeof tag !== 'string' || !/^[A-Za-z][\w-]*$/.test(tag)) {
    throw new VerifierConfigError(field, `must be a tag name like 'answer', got ${JSON.stringify(tag)}`);
  }
  return tag;
}

/** Content of the last <tag>...</tag> in text, or null when there is none. */
export function extractTag(text: string, tag: string): string | null {
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g');
  let last: string | null = null;
  for (const m of text.matchAll(re)) last = m[1];
  return last;
}
