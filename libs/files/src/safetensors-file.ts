// safetensors files on disk: the whole file (header validated before any data is read, tensors read one
// by one), or only its header (8 + N bytes, for inspecting large checkpoints without reading their data).
import { open, type FileHandle } from 'node:fs/promises';
import { parseHeader, readHeaderLength, SafetensorsError, type ParsedSafetensors, type RawTensor, type SafetensorsHeader } from '@tuneloop/model';
import { FilesError } from './atomic.ts';

const CHUNK = 1 << 30;

function annotate(path: string, err: unknown): never {
  if (err instanceof Error && err.name === 'SafetensorsError') {
    err.message = `${path}: ${err.message}`;
    throw err;
  }
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FilesError('not_found', `${path}: no such file`, false, { cause: err });
  throw err;
}

/**
 * Read a whole safetensors file: the header is read and fully validated first, then each tensor's
 * bytes are read into its own buffer (no single buffer for the file, so multi-GB shards load).
 */
export async function readSafetensorsFile(path: string, opts: { chunkBytes?: number } = {}): Promise<ParsedSafetensors> {
  const chunk = opts.chunkBytes ?? CHUNK;
  try {
    const fh = await open(path, 'r');
    try {
      const header = await readHeaderFrom(fh);
      const tensors = new Map<string, RawTensor>();
      for (const e of header.entries) {
        const [begin, end] = e.dataOffsets;
        const data = new Uint8Array(end - begin);
        let done = 0;
        while (done < data.length) {
          const { bytesRead } = await fh.read(data, done, Math.min(data.length - done, chunk), header.dataStart + begin + done);
          if (bytesRead === 0) throw new SafetensorsError('truncated', `file ended while reading tensor '${e.name}' (was it modified during the read?)`);
          done += bytesRead;
        }
        tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
      }
      return { tensors, metadata: header.metadata };
    } finally {
      await fh.close();
    }
  } catch (err) {
    annotate(path, err);
  }
}

async function readHeaderFrom(fh: FileHandle): Promise<SafetensorsHeader & { fileBytes: number }> {
  const { size } = await fh.stat();
  const prefix = new Uint8Array(Math.min(8, size));
  await fh.read(prefix, 0, prefix.length, 0);
  const n = readHeaderLength(prefix);
  if (size < 8 + n) throw new SafetensorsError('truncated', `file is ${size} bytes but the header alone needs ${8 + n}`);
  const header = new Uint8Array(n);
  const { bytesRead } = await fh.read(header, 0, n, 8);
  if (bytesRead !== n) throw new SafetensorsError('truncated', `file ended inside the ${n}-byte header`);
  return { ...parseHeader(header, size - 8 - n), fileBytes: size };
}

/** Header and file size, reading only the first 8 + N bytes. */
export async function readSafetensorsHeaderFile(path: string): Promise<SafetensorsHeader & { fileBytes: number }> {
  try {
    const fh = await open(path, 'r');
    try {
      return await readHeaderFrom(fh);
    } finally {
      await fh.close();
    }
  } catch (err) {
    annotate(path, err);
  }
}
