// `tuneloop model inspect --model DIR`: architecture, parameter count, dtypes and size of a Hugging
// Face model folder, read from config.json and the safetensors headers (weights are not loaded).
import type { Command } from 'commander';
import { emit, table } from '../output.ts';

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(2)} ${units[i]}`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

type Inspection = Awaited<ReturnType<typeof import('@tuneloop/files').inspectHfFolder>>;

export function renderInspection(r: Inspection): string {
  const rows: (string | number)[][] = [
    ['folder', r.dir],
    ['architecture', `${r.architecture} (${r.modelType})`],
    ['parameters', `${formatCount(r.parameters)} (${r.parameters})`],
  ];
  if (r.config) {
    const c = r.config;
    rows.push(
      ['layers', c.numHiddenLayers],
      ['hidden / ffn', `${c.hiddenSize} / ${c.intermediateSize}`],
      ['heads / kv heads', `${c.numAttentionHeads} / ${c.numKeyValueHeads}`],
      ['vocab / context', `${c.vocabSize} / ${c.maxPositionEmbeddings}`],
      ['rope', `theta ${c.ropeTheta}${c.ropeScaling ? `, llama3 x${c.ropeScaling.factor}` : ''}`],
      ['qkv bias / tied', `${c.attentionBias} / ${c.tieWordEmbeddings}`],
    );
  } else {
    rows.push(['supported', `no: ${r.configError}`]);
  }
  for (const [dtype, d] of Object.entries(r.dtypes)) rows.push([`dtype ${dtype}`, `${d.tensors} tensors, ${formatCount(d.parameters)} params, ${formatBytes(d.bytes)}`]);
  for (const f of r.weightFiles) rows.push([`file ${f.file}`, `${f.tensors} tensors, ${formatBytes(f.bytes)}`]);
  rows.push(['size on disk', formatBytes(r.sizeOnDisk)]);
  rows.push(['tokenizer', r.tokenizer ? `${r.tokenizer.model}, vocab ${r.tokenizer.vocabSize}, chat template ${r.tokenizer.hasChatTemplate ? 'yes' : 'no'}` : 'none']);
  const w = r.weightCheck;
  if (w && (w.missing.length || w.unexpected.length || w.mismatched.length)) {
    rows.push(['weights', `MISMATCH: ${w.missing.length} missing, ${w.unexpected.length} unexpected, ${w.mismatched.length} wrong shape`]);
  } else if (w) rows.push(['weights', 'match config.json']);
  return table(['field', 'value'], rows);
}

export function registerInspect(model: Command): void {
  model
    .command('inspect')
    .description('Architecture, parameter count, dtypes and size of a Hugging Face model folder')
    .requiredOption('--model <dir>', 'model folder (config.json + safetensors)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { model: string; json?: boolean }) => {
      const { inspectHfFolder } = await import('@tuneloop/files');
      const result = await inspectHfFolder(opts.model);
      emit(Boolean(opts.json), result, renderInspection);
    });
}
