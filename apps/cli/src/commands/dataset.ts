// `tuneloop dataset push|pull|rm|ls`: dataset versions in the model store (TRL JSONL files; the store checks every line
// and writes dataset_info.json). A pushed version is read by training jobs as store://<name>@<version>/<file>.
import path from 'node:path';
import type { Command } from 'commander';
import type { DatasetInfo } from '@tuneloop/proto';
import { CliError, emit, table } from '../output.ts';
import { asCliError } from './model-ls.ts';
import { formatBytes } from './model-inspect.ts';

const FORMATS = ['preference', 'unpaired', 'prompt_completion', 'messages', 'prompts'] as const;
// DatasetFormat wire numbers (common.proto): PROMPT_COMPLETION 1, MESSAGES 2, PREFERENCE 3, UNPAIRED 4, PROMPTS 5
const WIRE: Record<(typeof FORMATS)[number], number> = { prompt_completion: 1, messages: 2, preference: 3, unpaired: 4, prompts: 5 };
const formatOf = (n: number) => (Object.entries(WIRE).find(([, v]) => v === n)?.[0] ?? 'unspecified');

/** The model store's address: TUNELOOP_MODEL_STORE_ADDR, else TUNELOOP_GRPC_ADDR (connectStore's default). */
const storeAddr = () => process.env.TUNELOOP_MODEL_STORE_ADDR || undefined;

/** A DatasetInfo for --json: the format by name, the store:// URI of each JSONL file. */
function datasetJson(d: DatasetInfo) {
  const at = `${d.ref?.name}@${d.ref?.version}`;
  return { ...d, format: formatOf(d.format), uris: d.jsonlFiles.map((f) => `store://${at}/${f.path}`) };
}

function rows(ds: DatasetInfo[]): (string | number)[][] {
  return ds.map((d) => [
    `${d.ref?.name}@${d.ref?.version}`,
    formatOf(d.format),
    d.rows,
    d.jsonlFiles.map((f) => `${f.path} (${f.rows})`).join(', '),
    formatBytes(d.sizeBytes),
    d.createdAt ? new Date(d.createdAt).toISOString().replace(/\.\d+Z$/, 'Z') : '',
  ]);
}
const HEADERS = ['DATASET', 'FORMAT', 'ROWS', 'FILES', 'SIZE', 'CREATED'];

/** "name@version" / "name@latest" / "name" -> name and version ('' = the newest). */
function splitRef(ref: string): { name: string; version: string } {
  const at = ref.lastIndexOf('@');
  const name = at < 0 ? ref : ref.slice(0, at);
  const version = at < 0 ? '' : ref.slice(at + 1);
  if (!name) throw new CliError(`REF: must be name@version, got ${JSON.stringify(ref)}`);
  return { name, version: version === 'latest' ? '' : version };
}

export function register(program: Command): void {
  const dataset = program.command('dataset').description('Dataset versions in the model store (TRL JSONL), read by jobs as store://<name>@<version>/<file>');

  dataset
    .command('push')
    .description('Upload a JSONL file, or a folder of them (+ README.md), as a new dataset version')
    .argument('<file-or-dir>', 'a .jsonl file, or a folder: its *.jsonl files and README.md')
    .option('--name <name>', 'dataset name (default: the file name without .jsonl, or the folder name)')
    .option('--version <version>', 'version (default: the next number)')
    .option('--format <format>', `declare the TRL format (${FORMATS.join(', ')}); default: detected`)
    .option('--description <text>', 'kept in dataset_info.json')
    .option('--json', 'print the stored version as JSON')
    .action(async (source: string, opts: { name?: string; version?: string; format?: string; description?: string; json?: boolean }) => {
      if (opts.format !== undefined && !(FORMATS as readonly string[]).includes(opts.format)) {
        throw new CliError(`--format: must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(opts.format)}`);
      }
      const { pushDataset, progressBar } = await import('@tuneloop/jobs');
      const { stat } = await import('node:fs/promises');
      await stat(source).catch((e: NodeJS.ErrnoException) => {
        throw new CliError(`FILE-OR-DIR: cannot read ${source}: ${e.code ?? e.message}`);
      });
      const name = opts.name ?? path.basename(path.resolve(source)).replace(/\.jsonl$/, '');
      let bar: ReturnType<typeof progressBar> | undefined;
      let d: DatasetInfo;
      try {
        d = await pushDataset(storeAddr(), {
          source, name, version: opts.version, description: opts.description,
          format: opts.format ? WIRE[opts.format as (typeof FORMATS)[number]] : undefined,
          progress: (sent, total) => {
            bar ??= progressBar(`upload ${name}`, total, !opts.json && !!process.stderr.isTTY);
            bar.update(sent);
          },
        });
      } catch (e) {
        throw await asCliError(e);
      }
      bar?.end();
      emit(!!opts.json, datasetJson(d), () => `${table(HEADERS, rows([d]))}\n${d.jsonlFiles.map((f) => `store://${d.ref?.name}@${d.ref?.version}/${f.path}`).join('\n')}`);
    });

  dataset
    .command('pull')
    .description('Download every file of a dataset version (SHA-256 checked) into a folder')
    .argument('<ref>', 'name@version (name or name@latest: the newest)')
    .requiredOption('--out <dir>', 'folder to write the files into (created)')
    .option('--json', 'print the version and the written files as JSON')
    .action(async (ref: string, opts: { out: string; json?: boolean }) => {
      const { describeDataset, fetchDatasetFile } = await import('@tuneloop/jobs');
      const { mkdir, writeFile } = await import('node:fs/promises');
      const { name, version } = splitRef(ref);
      const written: string[] = [];
      let d: DatasetInfo;
      try {
        d = await describeDataset(storeAddr(), name, version);
        await mkdir(opts.out, { recursive: true });
        for (const f of d.files) {
          const got = await fetchDatasetFile(storeAddr(), { name: d.ref!.name, version: d.ref!.version, path: f.path });
          await writeFile(path.join(opts.out, f.path), got.data);
          written.push(path.join(opts.out, f.path));
        }
      } catch (e) {
        throw await asCliError(e);
      }
      emit(!!opts.json, { dataset: datasetJson(d), files: written }, () => `${d.ref?.name}@${d.ref?.version}: ${written.length} files -> ${opts.out}`);
    });

  dataset
    .command('rm')
    .description('Delete a dataset version (its blobs unless another version shares them)')
    .argument('<ref>', 'name@version')
    .option('--json', 'print { deleted } as JSON')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const { connectStore } = await import('@tuneloop/jobs');
      const { name, version } = splitRef(ref);
      if (!version) throw new CliError(`REF: name a version to delete (name@version), got ${JSON.stringify(ref)}`);
      const client = connectStore(storeAddr());
      try {
        await new Promise<void>((resolve, reject) => client.deleteDataset({ ref: { name, version } }, (e) => (e ? reject(e) : resolve())));
      } catch (e) {
        throw await asCliError(e);
      } finally {
        client.close();
      }
      emit(!!opts.json, { deleted: `${name}@${version}` }, (v) => `deleted ${v.deleted}`);
    });

  dataset
    .command('ls')
    .description('List the dataset versions in the model store, newest first per name')
    .argument('[name]', 'only versions of this dataset')
    .option('--json', 'print { datasets } as JSON')
    .action(async (name: string | undefined, opts: { json?: boolean }) => {
      const { listDatasets } = await import('@tuneloop/jobs');
      let ds: DatasetInfo[];
      try {
        ds = await listDatasets(storeAddr(), name ?? '');
      } catch (e) {
        throw await asCliError(e);
      }
      emit(!!opts.json, { datasets: ds.map(datasetJson) }, () => (ds.length === 0 ? 'no datasets' : table(HEADERS, rows(ds))));
    });
}
