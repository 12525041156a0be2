// TRL-style SFT datasets as JSONL text: one JSON object per line, either {"prompt", "completion"}
// (prompt-completion, strings) or {"messages": [{"role", "content"}, ...]} (conversational). Pure over strings.
import { DatasetError, describeJson as describe, forEachJsonLine } from './json-lines.ts';

export { DatasetError } from './json-lines.ts';

export interface ChatTurn {
  role: string;
  content: string;
}

/** One training example, with the 1-based line it came from (for error messages). */
export type SftExample =
  | { kind: 'prompt-completion'; line: number; prompt: string; completion: string }
  | { kind: 'messages'; line: number; messages: ChatTurn[] };

export interface ParseSftOptions {
  /** Name used in error messages (a file name); default 'dataset'. */
  source?: string;
  /** Roles accepted in messages; default system, user, assistant (and tool). */
  roles?: readonly string[];
}

const DEFAULT_ROLES = ['system', 'user', 'assistant', 'tool'];

function parseLine(o: Record<string, unknown>, line: number, source: string, roles: readonly string[]): SftExample {
  const fail = (d: string) => new DatasetError(line, d, source);
  if ('messages' in o) {
    const msgs = o.messages;
    if (!Array.isArray(msgs) || msgs.length === 0) throw fail(`"messages": must be a non-empty array, got ${describe(msgs)}`);
    const messages = msgs.map((m, i): ChatTurn => {
      if (m === null || typeof m !== 'object' || Array.isArray(m)) throw fail(`"messages[${i}]": must be an object {role, content}, got ${describe(m)}`);
      const { role, content } = m as Record<string, unknown>;
      if (typeof role !== 'string' || !roles.includes(role)) {
        throw fail(`"messages[${i}].role": must be one of ${roles.join(', ')}, got ${JSON.stringify(role ?? null)}`);
      }
      if (typeof content !== 'string') throw fail(`"messages[${i}].content": must be a string, got ${describe(content)}`);
      return { role, content };
    });
    if (!messages.some((m) => m.role === 'assistant')) throw fail('"messages": has no assistant turn (nothing to learn from)');
    return { kind: 'messages', line, messages };
  }
  const missing = ['prompt', 'completion'].filter((k) => !(k in o));
  if (missing.length > 0) {
    throw fail(`missing field ${missing.map((k) => `"${k}"`).join(' and ')} (expected {"prompt", "completion"} or {"messages"})`);
  }
  for (const k of ['prompt', 'completion'] as const) {
    if (typeof o[k] !== 'string') throw fail(`"${k}": must be a string, got ${describe(o[k])}`);
  }
  if ((o.completion as string).length === 0) throw fail('"completion": must not be empty');
  return { kind: 'prompt-completion', line, prompt: o.prompt as string, completion: o.completion as string };
}

/**
 * Parses JSONL text into SFT examples. Blank lines are skipped; every other line must be one of the two
 * formats, and all lines must use the same one. Throws DatasetError naming the first bad line.
 */
export function parseSftJsonl(text: string, opts: ParseSftOptions = {}): SftExample[] {
  const source = opts.source ?? 'dataset';
  const roles = opts.roles ?? DEFAULT_ROLES;
  const out: SftExample[] = [];
  forEachJsonLine(
    text,
    (obj, line) => {
      const ex = parseLine(obj, line, source, roles);
      if (out.length > 0 && out[0].kind !== ex.kind) throw new DatasetError(line, `is ${ex.kind} but line ${out[0].line} is ${out[0].kind}: one format per file`, source);
      out.push(ex);
    },
    source,
  );
  return out;
}
