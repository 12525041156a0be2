// `tuneloop model quantize REF --scheme nf4 [--double-quant]`: quantizes a stored model into a new
// version (QuantizeModel) and prints bits per parameter, bytes before/after, the reconstruction error
// and, with --eval FILE, the perplexity before and after on that text.
import type { Command } from 'commander';
import type { QuantizeModelResponse } from '@tuneloop/proto';
import { CliError, emit, table } from '../output.ts';
import { formatBytes } from './model-inspect.ts';
import { call } from './model-ls.ts';

const SCHEME_IDS: Record<string, number> = { nf4: 1, int8: 2, int4: 3, int2: 4, fp4: 5 };

function int(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n)) throw new CliError(`${name}: must be an integer, got '${v}'`);
  return n;
}

export function registerQuantize(model: Command): void {
  model
    .command('quantize')
    .description('Quantize a stored model into a new version (nf4, int8, int4, int2)')
    .argument('<ref>', 'name@version of a full-precision model (name: the newest version)')
    .requiredOption('--scheme <scheme>', 'nf4 | fp4 | int8 | int4 | int2')
    .option('--block-size <n>', 'values per absmax block (default 64)', (v) => int('--block-size', v))
    .option('--double-quant', 'quantize the absmax values to 8 bits in blocks of 256 (nf4)')
    .option('--keep <regex...>', 'tensor-name patterns kept in full precision (default: embed_tokens norm lm_head)')
    .option('--output <ref>', 'name[@version] of the result (default: same name, next version)')
    .option('--eval <file>', 'UTF-8 text: measure perplexity before and after')
    .option('--window <n>', 'tokens per evaluation window (default min(context, 256))', (v) => int('--window', v))
    .option('--json', 'print { model, report } as JSON')
    .action(async (text: string, opts: { scheme: string; blockSize?: number; doubleQuant?: boolean; keep?: string[]; output?: string; eval?: string; window?: number; json?: boolean }) => {
      const scheme = SCHEME_IDS[opts.scheme];
      if (!scheme) throw new CliError(`--scheme: must be one of ${Object.keys(SCHEME_IDS).join(', ')}, got '${opts.scheme}'`);
      const { connectStore, parseRef } = await import('@tuneloop/model-store');
      const ref = parseRef(text);
      const output = opts.output ? parseRef(opts.output, '--output') : undefined;
      let evalText = '';
      if (opts.eval) {
        const { readFile } = await import('node:fs/promises');
        evalText = await readFile(opts.eval, 'utf8').catch((err: NodeJS.ErrnoException) => {
          throw new CliError(`--eval: cannot read ${opts.eval}: ${err.code ?? err.message}`);
        });
      }
      const client = await connectStore();
      try {
        const res = await call<QuantizeModelResponse>((cb) => client.quantizeModel({
          ref: { name: ref.name, version: ref.version ?? '' },
          scheme,
          blockSize: opts.blockSize ?? 0,
          doubleQuant: !!opts.doubleQuant,
          keepFullPrecision: opts.keep ?? [],
          output: output ? { name: output.name, version: output.version ?? '' } : undefined,
          evalText,
          evalWindow: opts.window ?? 0,
        }, cb));
        const m = res.model!;
        const r = res.report!;
        const out = { model: { ...m, configJson: undefined }, report: r };
        emit(!!opts.json, out, () => {
          const rows: (string | number)[][] = [
            ['model', `${m.source?.name}@${m.source?.version} -> ${m.ref?.name}@${m.ref?.version}`],
            ['scheme', `${opts.scheme}, blocks of ${m.blockSize}${m.doubleQuant ? ', double quant' : ''}`],
            ['bits / quantized param', r.bitsPerParameter.toFixed(3)],
            ['bits / param (overall)', r.bitsPerParameterOverall.toFixed(3)],
            ['weights before -> after', `${formatBytes(r.bytesBefore)} -> ${formatBytes(r.bytesAfter)} (${(r.bytesBefore / r.bytesAfter).toFixed(2)}x smaller)`],
            ['quantized / kept params', `${r.quantizedParameters} / ${r.fullPrecisionParameters} (${r.quantizedTensors.length} tensors)`],
            ['error: MSE / max abs / SNR', `${r.mse.toExponential(3)} / ${r.maxAbsError.toExponential(3)} / ${r.snrDb.toFixed(2)} dB`],
          ];
          if (r.evalTokens > 0) {
            const change = (100 * (r.perplexityAfter - r.perplexityBefore)) / r.perplexityBefore;
            rows.push(['perplexity before -> after', `${r.perplexityBefore.toFixed(4)} -> ${r.perplexityAfter.toFixed(4)} (${change >= 0 ? '+' : ''}${change.toFixed(2)}%, ${r.evalTokens} tokens)`]);
          }
          return table(['', ''], rows).split('\n').slice(1).join('\n');
        });
      } finally {
        client.close();
      }
    });
}
