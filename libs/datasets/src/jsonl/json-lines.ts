// JSON Lines: one JSON object per non-blank line, errors naming the 1-based line. The reader under every JSONL
// format of this library (SFT, preference, KTO) and the model store's dataset checks. Pure over strings.

/** A dataset problem; `line` is 1-based (0 for the file as a whole). The message starts with `line N:`. */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  readonly code = 'INVALID_ARGUMENT';
  readonly retryable = false;
  constructor(
    readonly line: number,
    detail: string,
    readonly source = 'dataset',
  ) {
    super(line > 0 ? `${source}: line ${line}: ${detail}` : `${source}: ${detail}`);
  }
}

/** What a JSON value is, for error messages ("an array", "number 3"). */
export function describeJson(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? 'a string' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * Calls `fn` with each non-blank line's JSON object and its 1-based line number, in order; `fn` returning
 * `false` stops early. Returns how many objects `fn` saw. Throws DatasetError on a line that is not valid JSON
 * or not an object, and on a file without a single object.
 */
export function forEachJsonLine(text: string, fn: (obj: Record<string, unknown>, line: number) => void | boolean, source = 'dataset'): number {
  const lines = text.split('\n');
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    if (raw.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      throw new DatasetError(i + 1, `not valid JSON (${(e as Error).message})`, source);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new DatasetError(i + 1, `must be a JSON object, got ${describeJson(obj)}`, source);
    seen++;
    if (fn(obj as Record<string, unknown>, i + 1) === false) break;
  }
  if (seen === 0) throw new DatasetError(0, 'has no examples (empty file)', source);
  return seen;
}
