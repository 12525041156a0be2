// `tuneloop model pull REF --out DIR`: downloads every file of a model version into DIR. Each file is
// written to <file>.part and renamed once its SHA-256 matches; an interrupted pull resumes from the
// size of the .part file (GetModel with an offset).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { DescribeModelResponse } from '@tuneloop/proto';
import { CliError, emit } from '../output.ts';
import { asCliError, call } from './model-ls.ts';

async function sizeOf(p: string): Promise<number> {
  return (await stat(p).catch(() => null))?.size ?? 0;
}

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

export function registerPull(model: Command): void {
  model
    .command('pull')
    .description('Download a model version from the model store into a folder (resumable)')
    .argument('<ref>', 'name@version (name or name@latest: the newest version)')
    .requiredOption('--out <dir>', 'destination folder (created if absent)')
    .option('--json', 'print { ref, out, files, bytes, resumedBytes } as JSON')
    .action(async (text: string, opts: { out: string; json?: boolean }) => {
      const { connectStore, parseRef, progressBar } = await import('@tuneloop/model-store');
      const ref = parseRef(text);
      const client = await connectStore();
      try {
        const info = (await call<DescribeModelResponse>((cb) => client.describeModel({ ref: { name: ref.name, version: ref.version ?? '' } }, cb))).model!;
        const pinned = { name: info.ref!.name, version: info.ref!.version };
        await mkdir(opts.out, { recursive: true });
        const total = info.files.reduce((a, f) => a + f.size, 0);
        const bar = progressBar(`pull ${pinned.name}@${pinned.version}`, total, !opts.json && !!process.stderr.isTTY);
        let done = 0;
        let resumed = 0;
        for (const f of info.files) {
          const dest = path.join(opts.out, f.path);
          if ((await sizeOf(dest)) === f.size && (await sha256File(dest)) === f.sha256) {
            done += f.size;
            continue;
          }
          const part = `${dest}.part`;
          let offset = await sizeOf(part);
          if (offset > f.size) offset = 0;
          resumed += offset;
          done += offset;
          const fh = await open(part, offset > 0 ? 'r+' : 'w');
          try {
            const stream = client.getModel({ ref: pinned, path: f.path, offset, chunkSize: 0 });
            for await (const msg of stream as AsyncIterable<{ chunk?: { offset: number; data: Buffer } }>) {
              const c = msg.chunk!;
              await fh.write(c.data, 0, c.data.length, c.offset);
              done += c.data.length;
              bar.update(done);
            }
            await fh.sync();
          } catch (err) {
            throw await asCliError(err);
          } finally {
            await fh.close();
          }
          if ((await sha256File(part)) !== f.sha256) throw new CliError(`${f.path}: downloaded data does not match sha256 ${f.sha256}; delete ${part} and pull again`);
          await rename(part, dest);
        }
        bar.end();
        const summary = { ref: `${pinned.name}@${pinned.version}`, out: path.resolve(opts.out), files: info.files.length, bytes: total, resumedBytes: resumed };
        emit(!!opts.json, summary, (v) => `pulled ${v.ref} into ${v.out} (${v.files} files, ${v.bytes} bytes${v.resumedBytes ? `, resumed ${v.resumedBytes}` : ''})`);
      } finally {
        client.close();
      }
    });
}
