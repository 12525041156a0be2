// Dataset versions: a folder of TRL JSONL files (+ an optional README.md dataset card). The header is checked
// before any byte is received (file names, per-file and total size limits); after the upload every JSONL line
// is parsed with @tuneloop/datasets' TRL readers (INVALID_ARGUMENT naming the file and the 1-based line), the
// format is detected (or checked against the declared one; every file must agree), and the store writes
// dataset_info.json ({format, description, rows, files: [{path, rows, size, sha256}]}), as Hugging Face
// datasets keeps its dataset_info.json beside the data.
import { DatasetError, forEachJsonLine, parseKtoJsonl, parsePreferenceJsonl, parseSftJsonl } from '@tuneloop/datasets';
import { DatasetFormat, type FileEntry } from '@tuneloop/proto';
import { InvalidArgumentError } from '@tuneloop/service-kit';
import { sha256Hex, type BlobStore } from './backend.ts';
import type { ManifestFile } from './catalog.ts';
import { readBlob } from './folder-check.ts';

export const DATASET_INFO_FILE = 'dataset_info.json';
export const DATASET_CARD_FILE = 'README.md';
/** Largest JSONL file of a dataset version: the pairs reader's limit (it reads a file whole). */
export const MAX_DATASET_FILE_BYTES = 256 * 1024 * 1024;
/** Largest dataset version (all files together). */
export const MAX_DATASET_BYTES = 1024 * 1024 * 1024;
const MAX_CARD_BYTES = 1024 * 1024;
const MAX_DESCRIPTION = 4096;

/** TRL format names as dataset_info.json writes them. */
export const FORMAT_NAMES = {
  preference: DatasetFormat.PREFERENCE,
  unpaired: DatasetFormat.UNPAIRED,
  prompt_completion: DatasetFormat.PROMPT_COMPLETION,
  messages: DatasetFormat.MESSAGES,
  prompts: DatasetFormat.PROMPTS,
} as const;
export type DatasetFormatName = keyof typeof FORMAT_NAMES;

export function formatName(f: DatasetFormat): DatasetFormatName | undefined {
  return (Object.entries(FORMAT_NAMES) as [DatasetFormatName, DatasetFormat][]).find(([, v]) => v === f)?.[0];
}

/** Header check, before the data: *.jsonl files plus an optional README.md, within the size limits. */
export function checkDatasetEntries(files: FileEntry[] | undefined, description: string, field = 'header.files'): FileEntry[] {
  if (description.length > MAX_DESCRIPTION) throw new InvalidArgumentError('header.description', `must be at most ${MAX_DESCRIPTION} characters, got ${description.length}`);
  const list = files ?? [];
  let total = 0;
  list.forEach((f, i) => {
    const at = `${field}[${i}]`;
    if (f.path === DATASET_INFO_FILE) throw new InvalidArgumentError(`${at}.path`, `${DATASET_INFO_FILE} is written by the store; leave it out of the upload`);
    if (f.path === DATASET_CARD_FILE) {
      if (f.size > MAX_CARD_BYTES) throw new InvalidArgumentError(`${at}.size`, `${DATASET_CARD_FILE} must be at most ${MAX_CARD_BYTES} bytes, got ${f.size}`);
    } else if (!f.path.endsWith('.jsonl')) {
      throw new InvalidArgumentError(`${at}.path`, `a dataset holds *.jsonl files (and ${DATASET_CARD_FILE}), got ${JSON.stringify(f.path)}`);
    } else if (f.size > MAX_DATASET_FILE_BYTES) {
      throw new InvalidArgumentError(`${at}.size`, `${f.path}: a JSONL file must be at most ${MAX_DATASET_FILE_BYTES} bytes, got ${f.size}`);
    }
    total += f.size;
  });
  if (list.length > 0 && !list.some((f) => f.path.endsWith('.jsonl'))) throw new InvalidArgumentError(field, 'a dataset needs at least one *.jsonl file');
  if (total > MAX_DATASET_BYTES) throw new InvalidArgumentError(field, `a dataset version must be at most ${MAX_DATASET_BYTES} bytes in all, got ${total}`);
  return list;
}

/** The TRL format of one JSON line, by its keys (TRL's dataset-format detection). */
function detect(obj: Record<string, unknown>): DatasetFormatName | undefined {
  if ('chosen' in obj && 'rejected' in obj) return 'preference';
  if ('completion' in obj && 'label' in obj) return 'unpaired';
  if ('messages' in obj) return 'messages';
  if ('prompt' in obj && 'completion' in obj) return 'prompt_completion';
  if ('prompt' in obj) return 'prompts';
  return undefined;
}

/** The first JSON object of a file (DatasetError on a bad first line or an empty file). */
function firstLine(text: string): { obj: Record<string, unknown>; line: number } {
  let first: { obj: Record<string, unknown>; line: number } | undefined;
  forEachJsonLine(text, (obj, line) => {
    first = { obj, line };
    return false;
  });
  return first as { obj: Record<string, unknown>; line: number };
}

const isPrompt = (v: unknown) =>
  (typeof v === 'string' && v.trim() !== '') ||
  (Array.isArray(v) && v.length > 0 && v.every((m) => m !== null && typeof m === 'object' && typeof (m as { role?: unknown }).role === 'string' && typeof (m as { content?: unknown }).content === 'string'));

/** Prompt-only rows ({"prompt"} + reference fields): every line a JSON object with a non-empty prompt. */
function parsePrompts(text: string): number {
  return forEachJsonLine(text, (obj, line) => {
    if (!isPrompt(obj.prompt)) throw new DatasetError(line, '"prompt": must be a non-empty string or a list of {role, content} messages');
  });
}

function rowsOf(format: DatasetFormatName, text: string): number {
  switch (format) {
    case 'preference':
      return parsePreferenceJsonl(text).length;
    case 'unpaired':
      return parseKtoJsonl(text).length;
    case 'prompt_completion':
    case 'messages': {
      const ex = parseSftJsonl(text);
      const want = format === 'messages' ? 'messages' : 'prompt-completion';
      const other = ex.find((e) => e.kind !== want);
      if (other) throw new DatasetError(other.line, `is ${other.kind} but the dataset is ${format}`);
      return ex.length;
    }
    case 'prompts':
      return parsePrompts(text);
  }
}

export interface DatasetFolderInfo {
  format: DatasetFormatName;
  rows: number;
  jsonlFiles: { path: string; rows: number }[];
}

/** Parses every JSONL file of an uploaded dataset (see the file header). */
export async function checkDatasetFolder(blobs: BlobStore, files: ManifestFile[], declared: DatasetFormatName | undefined): Promise<DatasetFolderInfo> {
  let format = declared;
  let formatFrom = declared ? 'header.format' : '';
  const jsonlFiles: { path: string; rows: number }[] = [];
  for (const f of files.filter((x) => x.path.endsWith('.jsonl'))) {
    const field = `files[${f.path}]`;
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(await readBlob(blobs, f));
    } catch (e) {
      throw new InvalidArgumentError(field, `is not valid UTF-8 (${(e as Error).message})`);
    }
    try {
      const first = firstLine(text);
      const found = detect(first.obj);
      if (!found) throw new DatasetError(first.line, `is no TRL format (keys ${Object.keys(first.obj).map((k) => JSON.stringify(k)).join(', ') || 'none'}; expected {prompt, chosen, rejected}, {prompt, completion, label}, {prompt, completion}, {messages} or {prompt})`);
      if (format === undefined) {
        format = found;
        formatFrom = `files[${f.path}]`;
      } else if (found !== format) {
        throw new DatasetError(first.line, `is ${found} but ${formatFrom === 'header.format' ? 'header.format says' : `${formatFrom} is`} ${format}: one format per dataset`);
      }
      jsonlFiles.push({ path: f.path, rows: rowsOf(format, text) });
    } catch (e) {
      if (!(e instanceof DatasetError)) throw e;
      const detail = e.message.replace(/^dataset: /, '');
      throw new InvalidArgumentError(field, detail);
    }
  }
  if (format === undefined) throw new InvalidArgumentError('header.files', 'a dataset needs at least one *.jsonl file');
  return { format, rows: jsonlFiles.reduce((a, f) => a + f.rows, 0), jsonlFiles };
}

/** dataset_info.json: deterministic (no timestamps), so identical uploads share its blob. */
export function datasetInfoFile(info: DatasetFolderInfo, files: ManifestFile[], description: string): { entry: ManifestFile; bytes: Uint8Array } {
  const rowsByPath = new Map(info.jsonlFiles.map((f) => [f.path, f.rows]));
  const doc = {
    format: info.format,
    description,
    rows: info.rows,
    files: files.map((f) => ({ path: f.path, ...(rowsByPath.has(f.path) ? { rows: rowsByPath.get(f.path) } : {}), size: f.size, sha256: f.sha256 })),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(doc, null, 2) + '\n');
  return { entry: { path: DATASET_INFO_FILE, size: bytes.length, sha256: sha256Hex(bytes) }, bytes };
}
