// `tuneloop rollout generate|verify`: sample N completions per prompt from a model folder (tokens, text,
// per-token log-probs, finish reasons, optional verifier rewards) and score completions with a verifier spec.
// Both run in this process (the rollout service's pool answers the same over gRPC GenerateGroups / Verify).
import type { Command } from 'commander';
import { CliError, emit, table } from '../output.ts';

const num = (v: string) => {
  const x = Number(v);
  if (!Number.isFinite(x)) throw new CliError(`not a number: ${v}`, 2);
  return x;
};

async function inputErrors<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if ((e as { code?: string }).code === 'INVALID_ARGUMENT') throw new CliError((e as Error).message, 2);
    throw e;
  }
}

export function register(program: Command): void {
  const r = program.command('rollout').description('Generation with a policy and verifiers (GRPO groups, best-of-N).');
  r.command('verify')
    .description('score a completion with a verifier spec')
    .requiredOption('--verifier <spec>', 'verifier name or JSON spec, e.g. \'{"type":"numeric"}\'')
    .requiredOption('--completion <text>', 'the completion to score')
    .option('--prompt <text>', 'the prompt', '')
    .option('--reference <text>', 'reference answer / tests')
    .option('--json', 'print JSON')
    .action(async (o: { verifier: string; completion: string; prompt: string; reference?: string; json?: boolean }) => {
      const { createVerifier } = await import('@tuneloop/verifiers');
      const v = await inputErrors(() => createVerifier(o.verifier));
      const score = await v.score(o.prompt, o.completion, o.reference);
      emit(!!o.json, { verifier: v.name, score }, (x) => `${x.verifier}: ${x.score === null ? 'not applicable' : x.score}`);
    });
  r.command('generate')
    .description('sample N completions per prompt (tokens, per-token log-probs, finish reasons, rewards)')
    .requiredOption('--model <dir>', 'model folder (Hugging Face layout with tokenizer.json)')
    .requiredOption('--prompt <text...>', 'one or more prompts')
    .option('--n <n>', 'completions per prompt', num, 4)
    .option('--max-new-tokens <n>', 'tokens per completion', num, 16)
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', num, 1)
    .option('--top-k <k>', 'top-k (0 = off)', num, 0)
    .option('--top-p <p>', 'top-p (1 = off)', num, 1)
    .option('--seed <s>', 'seed (completion k uses seed + k)', num, 0)
    .option('--verifier <spec>', 'score each completion with this verifier')
    .option('--reference <text>', 'reference answer for the verifier (all prompts)')
    .option('--json', 'print JSON')
    .action(async (o: { model: string; prompt: string[]; n: number; maxNewTokens: number; temperature: number; topK: number; topP: number; seed: number; verifier?: string; reference?: string; json?: boolean }) => {
      if (!Number.isInteger(o.n) || o.n < 1) throw new CliError(`--n: must be an integer >= 1, got ${o.n}`, 2);
      const [{ initBackend }, files, rl, ver] = await Promise.all([import('@tuneloop/engine'), import('@tuneloop/files'), import('@tuneloop/rl'), import('@tuneloop/verifiers')]);
      const verifier = o.verifier ? await inputErrors(() => ver.createVerifier(o.verifier!)) : null;
      await initBackend({ quiet: true });
      const loaded = await files.loadModel(o.model);
      const tok = loaded.tokenizer;
      if (!tok) throw new CliError(`--model: ${o.model} has no tokenizer.json`, 2);
      const prompts = o.prompt.map((p) => ({ prompt: p, reference: o.reference }));
      const ids = await inputErrors(() => rl.encodePrompts(tok, loaded.model.config, prompts, o.maxNewTokens));
      const rollouts = rl.sampleGroups(loaded.model, tok, ids, { groupSize: o.n, maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed });
      const rewards = verifier ? await rl.scoreRollouts(verifier, prompts, rollouts, o.n) : null;
      loaded.model.dispose();
      const out = rollouts.map((x, k) => ({
        prompt: prompts[x.promptIndex].prompt, sample: k % o.n, text: x.text, tokens: x.tokens, tokenLogprobs: x.logprobs,
        logprob: x.logprobs.reduce((a, b) => a + b, 0), finishReason: x.finishReason, reward: rewards ? rewards[k] : null,
      }));
      emit(!!o.json, out, (rows) =>
        table(['prompt', '#', 'completion', 'logprob', 'finish', 'reward'], rows.map((x) => [x.prompt, x.sample, JSON.stringify(x.text), x.logprob.toFixed(3), x.finishReason, x.reward ?? '-'])),
      );
    });
}
