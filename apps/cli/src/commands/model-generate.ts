// `tuneloop model generate --model DIR --prompt TEXT`: sample a completion from a Hugging Face-layout model
// folder with the KV-cache generator, streaming tokens in human mode.
import type { Command } from 'commander';
import { CliError, emit } from '../output.ts';

export interface GenerateSummary {
  prompt: string;
  text: string;
  tokens: number[];
  logprobs: number[];
  finishReason: string;
  promptTokens: number;
  seconds: number;
  tokensPerSecond: number;
  backend: string;
}

function num(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new CliError(`${name}: must be a number, got '${v}'`);
  return n;
}

export function registerGenerate(model: Command): void {
  model
    .command('generate')
    .description('Generate a completion for a prompt (KV cache; greedy at --temperature 0)')
    .requiredOption('--model <dir>', 'Hugging Face model folder')
    .requiredOption('--prompt <text>', 'prompt text')
    .option('--max-tokens <n>', 'max new tokens (default 64)', (v) => num('--max-tokens', v))
    .option('--temperature <t>', 'sampling temperature, 0 = greedy (default: generation_config or 1)', (v) => num('--temperature', v))
    .option('--top-k <k>', 'top-k filter', (v) => num('--top-k', v))
    .option('--top-p <p>', 'nucleus filter', (v) => num('--top-p', v))
    .option('--min-p <p>', 'min-p filter', (v) => num('--min-p', v))
    .option('--repetition-penalty <r>', 'CTRL repetition penalty', (v) => num('--repetition-penalty', v))
    .option('--stop <s...>', 'stop strings')
    .option('--seed <s>', 'sampling seed (default 0)', (v) => num('--seed', v))
    .option('--chat', "wrap the prompt as a user message with the tokenizer's chat template")
    .option('--json', 'print JSON')
    .action(async (o: {
      model: string;
      prompt: string;
      maxTokens?: number;
      temperature?: number;
      topK?: number;
      topP?: number;
      minP?: number;
      repetitionPenalty?: number;
      stop?: string[];
      seed?: number;
      chat?: boolean;
      json?: boolean;
    }) => {
      const { initBackend } = await import('@tuneloop/engine');
      const info = await initBackend({ quiet: o.json });
      const files = await import('@tuneloop/files');
      const lib = await import('@tuneloop/model');
      const loaded = await files.loadModel(o.model);
      const tok = loaded.tokenizer;
      if (!tok) throw new CliError(`--model: ${o.model} has no tokenizer.json`);
      const gc = loaded.generationConfig;
      const text = o.chat ? tok.applyChatTemplate([{ role: 'user', content: o.prompt }], { addGenerationPrompt: true }) : o.prompt;
      const ids = tok.encode(text);
      const bos = tok.bosTokenId ?? loaded.config.bosTokenId;
      const prompt = bos !== undefined && ids[0] !== bos ? [bos, ...ids] : ids;
      const eos = gc?.eosTokenId ?? loaded.config.eosTokenId ?? tok.eosTokenId;
      const decode = (t: number[]) => tok.decode(t, { skipSpecialTokens: true });
      let streamed = '';
      const seen: number[] = [];
      const started = performance.now();
      try {
        const [g] = lib.generate(loaded.model, [prompt], {
          maxNewTokens: o.maxTokens ?? gc?.maxNewTokens ?? 64,
          temperature: o.temperature ?? (gc?.doSample === false ? 0 : (gc?.temperature ?? 1)),
          topK: o.topK ?? gc?.topK,
          topP: o.topP ?? gc?.topP,
          minP: o.minP ?? gc?.minP,
          repetitionPenalty: o.repetitionPenalty ?? gc?.repetitionPenalty,
          eosTokenIds: eos === undefined ? [] : Array.isArray(eos) ? eos : [eos],
          stopStrings: o.stop,
          decode,
          seed: o.seed ?? 0,
          padTokenId: tok.padTokenId ?? loaded.config.padTokenId,
          onToken: o.json
            ? undefined
            : (ev) => {
                seen.push(ev.token);
                const sofar = decode(seen);
                process.stdout.write(sofar.slice(streamed.length));
                streamed = sofar;
              },
        });
        const seconds = (performance.now() - started) / 1000;
        const summary: GenerateSummary = {
          prompt: o.prompt,
          text: g.text,
          tokens: g.tokens,
          logprobs: g.logprobs,
          finishReason: g.finishReason,
          promptTokens: prompt.length,
          seconds,
          tokensPerSecond: g.tokens.length / seconds,
          backend: info.name,
        };
        if (o.json) emit(true, summary, () => '');
        else process.stdout.write(`\n[${g.finishReason}, ${g.tokens.length} tokens, ${summary.tokensPerSecond.toFixed(1)} tokens/s]\n`);
      } finally {
        loaded.model.dispose();
      }
    });
}
