// Atomic folder writes: build the whole folder under a temporary sibling name, fsync it, then rename
// it into place, so readers see the old folder or the complete new one, never a half-written one.
import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, stat, readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export class FilesError extends Error {
  override name = 'FilesError';
  constructor(
    readonly code: 'not_found' | 'invalid_file' | 'refused' | 'io_error',
    message: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Plain file names only: no directories, no hidden files, nothing that could leave the folder. */
export function checkFileName(name: string): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name) || name.includes('..')) {
    throw new FilesError('refused', `file name must be a plain name inside the folder, got ${JSON.stringify(name)}`);
  }
}

/** A file's content: text, bytes, or a list of byte parts written one after another. */
export type FileContent = string | Uint8Array | Uint8Array[];

async function writeSynced(path: string, data: FileContent): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    if (Array.isArray(data)) {
      for (const part of data) {
        for (let done = 0; done < part.length; ) {
          const { bytesWritten } = await fh.write(part, done, Math.min(part.length - done, 1 << 30));
          done += bytesWritten;
        }
      }
    } else await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(path: string): Promise<void> {
  try {
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Directory fsync is not supported on every platform; the renames are still atomic.
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Write `files` as the folder `dir`, replacing it atomically. An existing `dir` is replaced only when
 * it is empty or `mayReplace(names)` accepts its listing (e.g. it holds a config.json).
 */
export async function writeFolderAtomic(
  dir: string,
  files: Map<string, FileContent>,
  mayReplace: (existing: string[]) => boolean = () => false,
): Promise<void> {
  for (const name of files.keys()) checkFileName(name);
  const target = resolve(dir);
  const parent = dirname(target);
  const base = basename(target);
  await mkdir(parent, { recursive: true });
  await recoverFolder(target);
  if (await exists(target)) {
    const st = await stat(target);
    if (!st.isDirectory()) throw new FilesError('refused', `${dir}: exists and is not a directory`);
    const names = await readdir(target);
    if (names.length > 0 && !mayReplace(names)) {
      throw new FilesError('refused', `${dir}: refusing to replace a non-empty folder that is not a model folder (no config.json)`);
    }
  }
  const tag = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const tmp = join(parent, `.${base}.tmp-${tag}`);
  await mkdir(tmp);
  try {
    for (const [name, data] of files) await writeSynced(join(tmp, name), data);
    await syncDir(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw new FilesError('io_error', `${dir}: writing failed, nothing was replaced: ${(err as Error).message}`, true, { cause: err });
  }
  if (await exists(target)) {
    const old = join(parent, `.${base}.old-${tag}`);
    await rename(target, old);
    try {
      await rename(tmp, target);
    } catch (err) {
      await rename(old, target);
      await rm(tmp, { recursive: true, force: true });
      throw new FilesError('io_error', `${dir}: could not move the new folder into place: ${(err as Error).message}`, true, { cause: err });
    }
    await rm(old, { recursive: true, force: true });
  } else {
    await rename(tmp, target);
  }
  await syncDir(parent);
}

/**
 * Finish or undo a replacement that a killed process left half-done. Replacing `dir` is two renames
 * (`dir` -> `.dir.old-TAG`, then the complete `.dir.tmp-TAG` -> `dir`); a SIGKILL between them leaves no `dir`.
 * The tmp folder was fully written and synced before the first rename, so it is moved into place when it is
 * there, else the old folder is moved back. Leftover old folders and unfinished tmp folders are removed.
 * Call before reading a folder that writeFolderAtomic may have been replacing (a checkpoint).
 */
export async function recoverFolder(dir: string): Promise<void> {
  const target = resolve(dir);
  const parent = dirname(target);
  const base = basename(target);
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return; // no parent: nothing to recover
  }
  const oldPrefix = `.${base}.old-`;
  const tmpPrefix = `.${base}.tmp-`;
  for (const old of names.filter((n) => n.startsWith(oldPrefix))) {
    const tmp = tmpPrefix + old.slice(oldPrefix.length);
    if (!(await exists(target))) {
      if (names.includes(tmp)) await rename(join(parent, tmp), target);
      else await rename(join(parent, old), target);
    }
    await rm(join(parent, old), { recursive: true, force: true });
  }
  // a tmp folder whose writer died before the swap (its pid is gone) is incomplete: remove it
  for (const tmp of names.filter((n) => n.startsWith(tmpPrefix))) {
    const pid = Number(tmp.slice(tmpPrefix.length).split('-')[0]);
    if (pid !== process.pid && !alive(pid) && (await exists(join(parent, tmp)))) await rm(join(parent, tmp), { recursive: true, force: true });
  }
  await syncDir(parent);
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
