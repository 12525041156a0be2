// Parse and validate a JSONL file of comparisons, one per line:
// {"prompt": "...", "responses": ["...", ...]} or {"messages": [{role, content}, ...], "responses": [...]},
// optional "round" (integer >= 1). Errors name the line and the field; the import is all or nothing.

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

export interface ImportedComparison {
  line: number;
  promptKind: 'text' | 'messages';
  prompt: string | ChatMessage[];
  responses: string[];
  round: number | null;
}

export const IMPORT_LIMITS = { maxLines: 20_000, maxTextChars: 100_000, maxErrors: 20 };

export class ImportError extends Error {
  override name = 'ImportError';
  constructor(readonly errors: string[]) {
    super(errors.join('\n'));
  }
}

export function parseComparisonsJsonl(text: string, k: number): ImportedComparison[] {
  const out: ImportedComparison[] = [];
  const errors: string[] = [];
  const lines = text.split(/\r?\n/);
  const nonEmpty = lines.filter((l) => l.trim() !== '').length;
  if (nonEmpty === 0) throw new ImportError(['file: contains no comparisons']);
  if (nonEmpty > IMPORT_LIMITS.maxLines) throw new ImportError([`file: at most ${IMPORT_LIMITS.maxLines} comparisons per import, got ${nonEmpty}`]);
  for (let i = 0; i < lines.length && errors.length < IMPORT_LIMITS.maxErrors; i++) {
    const raw = lines[i].trim();
    if (raw === '') continue;
    const line = i + 1;
    const fail = (msg: string) => errors.push(`line ${line}: ${msg}`);
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      fail(`not valid JSON (${(e as Error).message})`);
      continue;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      fail('must be a JSON object');
      continue;
    }
    const o = obj as Record<string, unknown>;
    const hasPrompt = 'prompt' in o;
    const hasMessages = 'messages' in o;
    if (hasPrompt === hasMessages) {
      fail('must have exactly one of "prompt" or "messages"');
      continue;
    }
    let prompt: string | ChatMessage[];
    if (hasPrompt) {
      if (typeof o.prompt !== 'string' || o.prompt.trim() === '') { fail('prompt: must be a non-empty string'); continue; }
      if (o.prompt.length > IMPORT_LIMITS.maxTextChars) { fail(`prompt: at most ${IMPORT_LIMITS.maxTextChars} characters, got ${o.prompt.length}`); continue; }
      prompt = o.prompt;
    } else {
      const msgs = o.messages;
      if (!Array.isArray(msgs) || msgs.length === 0) { fail('messages: must be a non-empty array of {role, content}'); continue; }
      const bad = msgs.findIndex((m) => typeof m !== 'object' || m === null || !['system', 'user', 'assistant'].includes((m as ChatMessage).role) || typeof (m as ChatMessage).content !== 'string');
      if (bad >= 0) { fail(`messages[${bad}]: must be {role: "system"|"user"|"assistant", content: string}`); continue; }
      prompt = (msgs as ChatMessage[]).map((m) => ({ role: m.role, content: m.content }));
    }
    const rs = o.responses;
    if (!Array.isArray(rs)) { fail('responses: must be an array of strings'); continue; }
    if (rs.length !== k) { fail(`responses: must have ${k} items (the project's K), got ${rs.length}`); continue; }
    const badR = rs.findIndex((r) => typeof r !== 'string' || r.length > IMPORT_LIMITS.maxTextChars);
    if (badR >= 0) { fail(`responses[${badR}]: must be a string of at most ${IMPORT_LIMITS.maxTextChars} characters`); continue; }
    let round: number | null = null;
    if (o.round !== undefined) {
      if (!Number.isInteger(o.round) || (o.round as number) < 1) { fail(`round: must be an integer >= 1, got ${JSON.stringify(o.round)}`); continue; }
      round = o.round as number;
    }
    out.push({ line, promptKind: hasPrompt ? 'text' : 'messages', prompt, responses: rs as string[], round });
  }
  if (errors.length) throw new ImportError(errors);
  return out;
}
