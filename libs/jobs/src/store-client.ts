// Client side of the model store's chunked transfers (services, the CLI, tests): upload a folder
// (header, then each file in chunks) and download a file resuming from an offset.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { credentials, type ClientReadableStream, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import { ModelStoreServiceClient, type FileEntry, type GetModelResponse, type UploadAdapterRequest, type UploadDatasetRequest, type UploadModelRequest } from '@tuneloop/proto';
import { grpcTarget, loadConfig } from '@tuneloop/service-kit';

export const UPLOAD_CHUNK = 256 * 1024;

/** The plain files of a folder with size and SHA-256 (hidden files and sub-folders skipped). */
export async function folderEntries(dir: string): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (name.startsWith('.')) continue;
    const s = await stat(join(dir, name));
    if (!s.isFile()) continue;
    const h = createHash('sha256');
    for await (const c of createReadStream(join(dir, name))) h.update(c as Buffer);
    out.push({ path: name, size: s.size, sha256: h.digest('hex') });
  }
  return out;
}

/** Writes one message, waiting for the stream to drain when its buffer is full. */
async function write<T>(call: ClientWritableStream<T>, msg: T): Promise<void> {
  if (!call.write(msg)) await new Promise<void>((resolve) => call.once('drain', resolve));
}

/** Streams each file of `dir` in chunks after `header`; `progress(bytesSent)` after each chunk. */
export async function sendFolder<T extends UploadModelRequest | UploadAdapterRequest | UploadDatasetRequest>(
  call: ClientWritableStream<T>,
  header: T,
  dir: string,
  files: FileEntry[],
  progress: (sent: number) => void = () => {},
): Promise<void> {
  await write(call, header);
  let sent = 0;
  for (const f of files) {
    let offset = 0;
    const chunks = f.size === 0 ? [Buffer.alloc(0)] : createReadStream(join(dir, f.path), { highWaterMark: UPLOAD_CHUNK });
    for await (const data of chunks as AsyncIterable<Buffer>) {
      const last = offset + data.length === f.size;
      await write(call, { part: { $case: 'chunk', value: { path: f.path, offset, data, sha256: last ? f.sha256 : '', last } } } as T);
      offset += data.length;
      sent += data.length;
      progress(sent);
    }
  }
  call.end();
}

/** Resolves with the unary response of a client-streaming call (or rejects with its ServiceError). */
export function responseOf<R, C>(start: (cb: (err: ServiceError | null, res?: R) => void) => C): {
  call: C;
  done: Promise<R>;
} {
  let call!: C;
  const done = new Promise<R>((resolve, reject) => {
    call = start((err, res) => (err ? reject(err) : resolve(res as R)));
  });
  return { call, done };
}

/** Collects a download stream; `onChunk` sees every chunk (offset, data, last, sha256). */
export async function receive(
  stream: ClientReadableStream<GetModelResponse>,
  onChunk: (c: NonNullable<GetModelResponse['chunk']>) => void | Promise<void>,
): Promise<void> {
  for await (const msg of stream as AsyncIterable<GetModelResponse>) {
    if (msg.chunk) await onChunk(msg.chunk);
  }
}


/** A client for TUNELOOP_GRPC_ADDR (or `target`), with the 16 MiB message limit of the services. */
export function connectStore(target?: string): ModelStoreServiceClient {
  const config = loadConfig();
  return new ModelStoreServiceClient(target ?? grpcTarget(config.grpcHost, config.grpcPort), credentials.createInsecure(), {
    'grpc.max_receive_message_length': config.maxReceiveBytes,
    'grpc.max_send_message_length': config.maxReceiveBytes,
  });
}

/** A one-line transfer progress bar on stderr ("\r" redraws); silent when `enabled` is false. */
export function progressBar(label: string, total: number, enabled: boolean): { update(done: number): void; end(): void } {
  const started = performance.now();
  let last = 0;
  const draw = (done: number) => {
    const width = 24;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const secs = (performance.now() - started) / 1000;
    const mbs = secs > 0 ? done / 1e6 / secs : 0;
    process.stderr.write(`\r${label} [${'#'.repeat(Math.round(frac * width)).padEnd(width, '-')}] ${(frac * 100).toFixed(0).padStart(3)}% ${(done / 1e6).toFixed(1)}/${(total / 1e6).toFixed(1)} MB ${mbs.toFixed(1)} MB/s `);
  };
  return {
    update(done) {
      if (!enabled || performance.now() - last < 100) return;
      last = performance.now();
      draw(done);
    },
    end() {
      if (!enabled) return;
      draw(total);
      process.stderr.write('\n');
    },
  };
}
