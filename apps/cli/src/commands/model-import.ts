// `tuneloop model import DIR`: uploads a Hugging Face model folder to the model store as a new version,
// in checksummed chunks, with a progress bar on stderr (TTY, not --json).
import path from 'node:path';
import type { Command } from 'commander';
import type { ServiceError } from '@grpc/grpc-js';
import type { UploadModelRequest, UploadModelResponse } from '@tuneloop/proto';
import { CliError, emit, table } from '../output.ts';
import { asCliError, modelRow } from './model-ls.ts';

export function registerImport(model: Command): void {
  model
    .command('import')
    .description('Upload a Hugging Face model folder to the model store as a new version')
    .argument('<dir>', 'folder with config.json and model.safetensors (or an index + shards)')
    .option('--name <name>', 'model name (default: the folder name)')
    .option('--version <version>', 'version (default: the next number)')
    .option('--json', 'print the stored model as JSON')
    .action(async (dir: string, opts: { name?: string; version?: string; json?: boolean }) => {
      const { connectStore, folderEntries, progressBar, responseOf, sendFolder, parseRef } = await import('@tuneloop/model-store');
      const name = opts.name ?? path.basename(path.resolve(dir));
      parseRef(`${name}@${opts.version ?? 'latest'}`, '--name/--version');
      const files = await folderEntries(dir).catch((err: NodeJS.ErrnoException) => {
        throw new CliError(`DIR: cannot read ${dir}: ${err.code ?? err.message}`);
      });
      const total = files.reduce((a, f) => a + f.size, 0);
      const bar = progressBar(`upload ${name}`, total, !opts.json && !!process.stderr.isTTY);
      const client = await connectStore();
      try {
        const { call, done } = responseOf((cb: (e: ServiceError | null, r?: UploadModelResponse) => void) => client.uploadModel(cb));
        const header: UploadModelRequest = { part: { $case: 'header', value: { ref: { name, version: opts.version ?? '' }, quantization: 0, files } } };
        const [, res] = await Promise.all([sendFolder(call, header, dir, files, (n) => bar.update(n)), done]).catch(async (err: unknown) => {
          call.cancel();
          throw await asCliError(err);
        });
        bar.end();
        const m = res.model!;
        emit(!!opts.json, { ...m, configJson: undefined }, () => table(['MODEL', 'QUANT', 'PARAMS', 'SIZE', 'FROM', 'CREATED'], [modelRow(m)]));
      } finally {
        client.close();
      }
    });
}
