// safetensors files on disk: the whole file (validated before any tensor is returned), or only its
// header (8 + N bytes read, for inspecting large checkpoints without reading their data).
import { open, readFile } from 'node:fs/promises';
import {
  parseHeader,
  parseSafetensors,
  readHeaderLength,
  SafetensorsError,
  type ParsedSafetensors,
  type SafetensorsHeader,
} from '@tuneloop/model';
import { FilesError } from './atomic.ts';

function annotate(path: string, err: unknown): never {
  if (err instanceof Error && err.name === 'SafetensorsError') {
    err.message = `${path}: ${err.message}`;
    throw err;
  }
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FilesError('not_found', `${path}: no such file`, false, { cause: err });
  throw err;
}

export async function readSafetensorsFile(path: string): Promise<ParsedSafetensors> {
  try {
    const bytes = await readFile(path);
    return parseSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    annotate(path, err);
  }
}

/** Header and file size, reading only the first 8 + N bytes. */
export async function readSafetensorsHeaderFile(path: string): Promise<SafetensorsHeader & { fileBytes: number }> {
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const prefix = new Uint8Array(Math.min(8, size));
      await fh.read(prefix, 0, prefix.length, 0);
      const n = readHeaderLength(prefix);
      if (size < 8 + n) throw new SafetensorsError('truncated', `file is ${size} bytes but the header alone needs ${8 + n}`);
      const header = new Uint8Array(n);
      await fh.read(header, 0, n, 8);
      return { ...parseHeader(header, size - 8 - n), fileBytes: size };
    } finally {
      await fh.close();
    }
  } catch (err) {
    annotate(path, err);
  }
}
