// TRL preference datasets as JSONL: {"prompt", "chosen", "rejected"} with strings (standard) or lists of
// {role, content} messages (conversational, prompt optional: then chosen/rejected are whole conversations),
// and KTO's unpaired {"prompt", "completion", "label"}. Reader with line-numbered errors, and writers.
import { DatasetError, describeJson as describe, forEachJsonLine as forEachLine } from '../jsonl/json-lines.ts';
import type { ChatTurn } from '../jsonl/sft-jsonl.ts';
import type { KtoExample } from './kto.ts';

export type Content = string | ChatTurn[];

/** One parsed preference line; `line` is 1-based. */
export interface PreferenceRecord {
  line: number;
  kind: 'standard' | 'conversational';
  prompt: Content; // '' or [] when the file gives none (implicit prompt)
  chosen: Content;
  rejected: Content;
  margin?: number;
}

export interface KtoRecord {
  line: number;
  kind: 'standard' | 'conversational';
  prompt: Content;
  completion: Content;
  label: boolean;
}

const ROLES = ['system', 'user', 'assistant', 'tool'];

function messages(v: unknown, field: string, fail: (d: string) => Error): ChatTurn[] {
  if (!Array.isArray(v)) throw fail(`"${field}": must be a list of messages, got ${describe(v)}`);
  return v.map((m, i): ChatTurn => {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw fail(`"${field}[${i}]": must be an object {role, content}, got ${describe(m)}`);
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== 'string' || !ROLES.includes(role)) throw fail(`"${field}[${i}].role": must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role ?? null)}`);
    if (typeof content !== 'string') throw fail(`"${field}[${i}].content": must be a string, got ${describe(content)}`);
    return { role, content };
  });
}

/** Whether a response is empty: '' (or only whitespace), no messages, or messages with only empty content. */
export function isEmptyContent(c: Content): boolean {
  return typeof c === 'string' ? c.trim() === '' : c.every((m) => m.content.trim() === '');
}

function sameContent(a: Content, b: Content): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Parses preference JSONL. Every line must have "chosen" and "rejected" (and "prompt" for the standard form);
 * chosen and rejected must be non-empty and differ; one form per file. Throws DatasetError naming the line.
 */
export function parsePreferenceJsonl(text: string, opts: { source?: string } = {}): PreferenceRecord[] {
  const source = opts.source ?? 'dataset';
  const out: PreferenceRecord[] = [];
  forEachLine(
    text,
    (o, line) => {
      const fail = (d: string) => new DatasetError(line, d, source);
      const missing = ['chosen', 'rejected'].filter((k) => !(k in o));
      if (missing.length > 0) throw fail(`missing field ${missing.map((k) => `"${k}"`).join(' and ')} (expected {"prompt", "chosen", "rejected"})`);
      const conversational = Array.isArray(o.chosen);
      let rec: PreferenceRecord;
      if (conversational) {
        const prompt = 'prompt' in o ? messages(o.prompt, 'prompt', fail) : [];
        rec = { line, kind: 'conversational', prompt, chosen: messages(o.chosen, 'chosen', fail), rejected: messages(o.rejected, 'rejected', fail) };
      } else {
        if (!('prompt' in o)) throw fail('missing field "prompt" (expected {"prompt", "chosen", "rejected"})');
        for (const k of ['prompt', 'chosen', 'rejected']) if (typeof o[k] !== 'string') throw fail(`"${k}": must be a string, got ${describe(o[k])}`);
        rec = { line, kind: 'standard', prompt: o.prompt as string, chosen: o.chosen as string, rejected: o.rejected as string };
      }
      for (const k of ['chosen', 'rejected'] as const) if (isEmptyContent(rec[k])) throw fail(`"${k}": must not be empty`);
      if (sameContent(rec.chosen, rec.rejected)) throw fail('"chosen" and "rejected" are identical (a pair must differ)');
      if ('margin' in o) {
        if (typeof o.margin !== 'number' || !Number.isFinite(o.margin)) throw fail(`"margin": must be a finite number, got ${describe(o.margin)}`);
        rec.margin = o.margin;
      }
      if (out.length > 0 && out[0].kind !== rec.kind) throw fail(`is ${rec.kind} but line ${out[0].line} is ${out[0].kind}: one format per file`);
      out.push(rec);
    },
    source,
  );
  return out;
}

/** Parses KTO JSONL ({prompt, completion, label: boolean}, strings or messages). */
export function parseKtoJsonl(text: string, opts: { source?: string } = {}): KtoRecord[] {
  const source = opts.source ?? 'dataset';
  const out: KtoRecord[] = [];
  forEachLine(
    text,
    (o, line) => {
      const fail = (d: string) => new DatasetError(line, d, source);
      const missing = ['prompt', 'completion', 'label'].filter((k) => !(k in o));
      if (missing.length > 0) throw fail(`missing field ${missing.map((k) => `"${k}"`).join(' and ')} (expected {"prompt", "completion", "label"})`);
      if (typeof o.label !== 'boolean') throw fail(`"label": must be true or false, got ${describe(o.label)}`);
      const conversational = Array.isArray(o.completion);
      const rec: KtoRecord = conversational
        ? { line, kind: 'conversational', prompt: messages(o.prompt, 'prompt', fail), completion: messages(o.completion, 'completion', fail), label: o.label }
        : (() => {
            for (const k of ['prompt', 'completion']) if (typeof o[k] !== 'string') throw fail(`"${k}": must be a string, got ${describe(o[k])}`);
            return { line, kind: 'standard' as const, prompt: o.prompt as string, completion: o.completion as string, label: o.label as boolean };
          })();
      if (isEmptyContent(rec.completion)) throw fail('"completion": must not be empty');
      if (out.length > 0 && out[0].kind !== rec.kind) throw fail(`is ${rec.kind} but line ${out[0].line} is ${out[0].kind}: one format per file`);
      out.push(rec);
    },
    source,
  );
  return out;
}

/** One JSON line per pair: {"prompt", "chosen", "rejected"} (+ "margin" when given). */
export function writePreferenceJsonl(pairs: { prompt: Content; chosen: Content; rejected: Content; margin?: number }[]): string {
  return pairs
    .map((p) => JSON.stringify(p.margin === undefined ? { prompt: p.prompt, chosen: p.chosen, rejected: p.rejected } : { prompt: p.prompt, chosen: p.chosen, rejected: p.rejected, margin: p.margin }) + '\n')
    .join('');
}

/** One JSON line per example: {"prompt", "completion", "label"}. */
export function writeKtoJsonl(examples: KtoExample[]): string {
  return examples.map((e) => JSON.stringify({ prompt: e.prompt, completion: e.completion, label: e.label }) + '\n').join('');
}
