// `tuneloop model perplexity --model DIR --text-file F`: mean NLL and perplexity of a text under a model.
// Text longer than the window is scored with overlapping windows (HF's sliding-window perplexity):
// every token after the first is scored exactly once, with at least `window - stride` tokens of context.
import type { Command } from 'commander';
import { CliError, emit } from '../output.ts';

/** Tokens [begin, end) are fed to the model; positions [scoreFrom, end) are scored. */
export interface Window {
  begin: number;
  end: number;
  scoreFrom: number;
}

/** Windows of at most `window` tokens advancing by `stride` (1 <= stride < window) over n tokens. */
export function planWindows(n: number, window: number, stride: number): Window[] {
  if (!Number.isInteger(window) || window < 2) throw new CliError(`window: must be an integer >= 2, got ${window}`);
  if (!Number.isInteger(stride) || stride < 1 || stride >= window) {
    throw new CliError(`stride: must be an integer in [1, ${window - 1}] (window - 1), got ${stride}`);
  }
  const context = window - stride;
  const out: Window[] = [];
  let scored = 1;
  while (scored < n) {
    const begin = out.length === 0 ? 0 : scored - context;
    const end = Math.min(begin + window, n);
    out.push({ begin, end, scoreFrom: scored });
    scored = end;
  }
  return out;
}

export interface PerplexityResult {
  tokens: number;
  nll: number;
  perplexity: number;
  tokenLogprobs: number[];
}

type ModelLib = typeof import('@tuneloop/model');
type Lm = InstanceType<ModelLib['CausalLM']>;

/** Log-prob of every token after the first, window by window, batched `batchSize` windows at a time. */
export async function scoreTokens(lib: ModelLib, model: Lm, tokens: number[], windows: Window[], batchSize = 4): Promise<number[]> {
  const tf = await import('@tensorflow/tfjs-core');
  const out: number[] = [];
  for (let k = 0; k < windows.length; k += batchSize) {
    const group = windows.slice(k, k + batchSize);
    const t = Math.max(...group.map((w) => w.end - w.begin));
    const inputIds = group.map((w) => [...tokens.slice(w.begin, w.end), ...new Array(t - (w.end - w.begin)).fill(0)]); // right padding
    const attentionMask = group.map((w) => Array.from({ length: t }, (_, j) => (j < w.end - w.begin ? 1 : 0)));
    const completionMask = group.map((w) => Array.from({ length: t }, (_, j) => (w.begin + j >= w.scoreFrom && j < w.end - w.begin ? 1 : 0)));
    const lp = tf.tidy(() => lib.sequenceLogprobs(model, { inputIds, attentionMask, completionMask }).logprobs);
    const values = await lp.data();
    lp.dispose();
    group.forEach((w, i) => {
      for (let p = w.scoreFrom; p < w.end; p++) out.push(values[i * t + (p - w.begin)]);
    });
  }
  return out;
}

export function summarize(tokens: number, tokenLogprobs: number[]): PerplexityResult {
  const nll = -tokenLogprobs.reduce((a, b) => a + b, 0) / tokenLogprobs.length;
  return { tokens, nll, perplexity: Math.exp(nll), tokenLogprobs };
}

export function registerPerplexity(model: Command): void {
  model
    .command('perplexity')
    .description('Mean negative log-likelihood and perplexity of a text file under a model')
    .requiredOption('--model <dir>', 'model folder (config.json + safetensors + tokenizer.json)')
    .requiredOption('--text-file <file>', 'UTF-8 text to score (encoded without special tokens)')
    .option('--window <n>', 'tokens per window (default: min(context length, 1024))')
    .option('--stride <n>', 'new tokens scored per window after the first (default: window / 2)')
    .option('--json', 'print { tokens, nll, perplexity, tokenLogprobs }')
    .action(async (opts: { model: string; textFile: string; window?: string; stride?: string; json?: boolean }) => {
      const { readFile } = await import('node:fs/promises');
      const text = await readFile(opts.textFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new CliError(`--text-file: cannot read ${opts.textFile}: ${err.code ?? err.message}`);
      });
      const { initBackend } = await import('@tuneloop/engine');
      await initBackend();
      const lib = await import('@tuneloop/model');
      const { loadModel } = await import('@tuneloop/files');
      const loaded = await loadModel(opts.model);
      try {
        if (!loaded.tokenizer) throw new CliError(`--model: ${opts.model} has no tokenizer.json`);
        const tokens = loaded.tokenizer.encode(text, { addSpecialTokens: false });
        if (tokens.length < 2) throw new CliError(`--text-file: needs at least 2 tokens to score, got ${tokens.length}`);
        const window = opts.window !== undefined ? Number(opts.window) : Math.min(loaded.config.maxPositionEmbeddings, 1024);
        if (window > loaded.config.maxPositionEmbeddings) {
          throw new CliError(`--window: must be <= the model's context length ${loaded.config.maxPositionEmbeddings}, got ${window}`);
        }
        const stride = opts.stride !== undefined ? Number(opts.stride) : Math.max(1, Math.floor(window / 2));
        const windows = planWindows(tokens.length, window, stride);
        if (windows.length > 1) {
          process.stderr.write(
            `perplexity: ${tokens.length} tokens > window ${window}: ${windows.length} overlapping windows, stride ${stride}, ` +
              `each token scored once with >= ${window - stride} tokens of context\n`,
          );
        }
        const result = summarize(tokens.length, await scoreTokens(lib, loaded.model, tokens, windows));
        emit(Boolean(opts.json), result, (r) => `tokens      ${r.tokens}\nnll         ${r.nll.toFixed(4)}\nperplexity  ${r.perplexity.toFixed(3)}`);
      } finally {
        loaded.model.dispose();
      }
    });
}
