// Receives a chunked folder upload (header, then each file's chunks in offset order, one file at a
// time, its last chunk marked) into verified content-addressed blobs. Any violation is INVALID_ARGUMENT
// naming the field; a failed upload leaves no manifest and removes the blobs it alone wrote.
import type { BlobChunk, FileEntry } from '@tuneloop/proto';
import { InvalidArgumentError } from '@tuneloop/service-kit';
import { SHA256_RE, verifiedSource, type BlobStore } from './backend.ts';
import type { ManifestFile } from './catalog.ts';

export const MAX_FILES = 10_000;
export const MAX_FILE_BYTES = 2 ** 40;
const FILE_NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

type Part<H> = { $case: 'header'; value: H } | { $case: 'chunk'; value: BlobChunk } | undefined;

/** Validates the declared files: plain unique names, sizes, lower-case hex SHA-256. */
export function checkFileEntries(files: FileEntry[] | undefined, field = 'header.files'): ManifestFile[] {
  if (!files || files.length === 0) throw new InvalidArgumentError(field, 'must list at least one file');
  if (files.length > MAX_FILES) throw new InvalidArgumentError(field, `must list at most ${MAX_FILES} files, got ${files.length}`);
  const seen = new Set<string>();
  return files.map((f, i) => {
    const at = `${field}[${i}]`;
    if (!FILE_NAME_RE.test(f.path) || f.path.includes('..')) {
      throw new InvalidArgumentError(`${at}.path`, `must be a plain file name (${FILE_NAME_RE}), got ${JSON.stringify(f.path)}`);
    }
    if (seen.has(f.path)) throw new InvalidArgumentError(`${at}.path`, `duplicate file ${f.path}`);
    seen.add(f.path);
    if (!Number.isInteger(f.size) || f.size < 0 || f.size > MAX_FILE_BYTES) {
      throw new InvalidArgumentError(`${at}.size`, `must be an integer 0-${MAX_FILE_BYTES}, got ${f.size}`);
    }
    if (!SHA256_RE.test(f.sha256)) throw new InvalidArgumentError(`${at}.sha256`, `must be 64 lower-case hex digits, got ${JSON.stringify(f.sha256)}`);
    return { path: f.path, size: f.size, sha256: f.sha256 };
  });
}

export interface Received<H> {
  header: H;
  files: ManifestFile[];
  /** blobs this upload wrote (not already stored): to collect if the upload is rejected later */
  written: string[];
}

/**
 * Consumes an upload stream: the header (`files` read by `filesOf`), then the chunks. On any error
 * the blobs written so far are passed to `onFailure` (garbage collection) and the error is rethrown.
 */
export async function receiveUpload<H>(
  requests: AsyncIterable<{ part?: Part<H> }>,
  blobs: BlobStore,
  filesOf: (header: H) => FileEntry[] | undefined,
  onFailure: (written: string[]) => Promise<unknown>,
  signal?: AbortSignal,
): Promise<Received<H>> {
  const source = requests[Symbol.asyncIterator]();
  // a cancelled call (client gone, deadline, shutdown) ends the upload even if the stream never ends
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(new InvalidArgumentError('chunk', 'upload cancelled before it was complete'));
    if (signal?.aborted) fail();
    else signal?.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => undefined);
  const it = { next: () => Promise.race([source.next(), aborted]) };
  const written: string[] = [];
  try {
    const first = await it.next();
    if (first.done || first.value.part?.$case !== 'header') throw new InvalidArgumentError('header', 'the first message must be the header');
    const header = first.value.part.value;
    const files = checkFileEntries(filesOf(header));
    const byPath = new Map(files.map((f) => [f.path, f]));
    const done = new Set<string>();
    const nextChunk = async (): Promise<BlobChunk | null> => {
      const r = await it.next();
      if (r.done) return null;
      if (r.value.part?.$case !== 'chunk') throw new InvalidArgumentError('header', 'only the first message may be a header');
      return r.value.part.value;
    };
    for (let chunk = await nextChunk(); chunk; chunk = await nextChunk()) {
      const entry = byPath.get(chunk.path);
      if (!entry) throw new InvalidArgumentError('chunk.path', `${JSON.stringify(chunk.path)} is not a file of the header`);
      if (done.has(entry.path)) throw new InvalidArgumentError('chunk.path', `${entry.path} was already sent`);
      const firstChunk = chunk;
      async function* fileChunks(): AsyncGenerator<Uint8Array> {
        let c: BlobChunk | null = firstChunk;
        let expected = 0;
        for (;;) {
          if (c.path !== entry!.path) throw new InvalidArgumentError('chunk.path', `${entry!.path} ended without a chunk marked last, then ${c.path} began`);
          if (c.offset !== expected) throw new InvalidArgumentError('chunk.offset', `${entry!.path}: expected offset ${expected}, got ${c.offset}`);
          expected += c.data.length;
          yield c.data;
          if (c.last) {
            if (c.sha256 && c.sha256 !== entry!.sha256) {
              throw new InvalidArgumentError('chunk.sha256', `${entry!.path}: last chunk says ${c.sha256}, header says ${entry!.sha256}`);
            }
            return;
          }
          c = await nextChunk();
          if (!c) throw new InvalidArgumentError('chunk', `truncated upload: the stream ended inside ${entry!.path} at byte ${expected} of ${entry!.size}`);
        }
      }
      const r = await blobs.put(entry.sha256, verifiedSource(fileChunks(), entry.sha256, entry.size, `files[${entry.path}]`));
      if (r.written) written.push(entry.sha256);
      done.add(entry.path);
    }
    const missing = files.filter((f) => !done.has(f.path)).map((f) => f.path);
    if (missing.length > 0) throw new InvalidArgumentError('chunk', `truncated upload: no data for ${missing.join(', ')}`);
    return { header, files, written };
  } catch (err) {
    await onFailure(written).catch(() => undefined);
    throw err;
  }
}
