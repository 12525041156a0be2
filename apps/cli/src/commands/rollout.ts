// `tuneloop rollout generate|verify`: sample N completions per prompt (tokens, text, per-token log-probs, finish
// reasons, optional verifier rewards) and score completions with a verifier spec. Through the rollout service by
// default (--addr, else TUNELOOP_GRPC_ADDR): generate streams tokens to stdout as the workers make them (the
// streaming Generate RPC); --local runs both in this process (a model folder, no stack needed).
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { GenerateResponse, RolloutServiceClient } from '@tuneloop/proto';
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

/** gRPC target: --addr, else TUNELOOP_GRPC_ADDR / TUNELOOP_GRPC_PORT (as `npm start` listens). */
async function rolloutClient(addr?: string): Promise<RolloutServiceClient> {
  const [{ credentials }, { RolloutServiceClient: Client }, { loadConfig, grpcTarget }] = await Promise.all([
    import('@grpc/grpc-js'), import('@tuneloop/proto'), import('@tuneloop/service-kit'),
  ]);
  const c = addr ? undefined : loadConfig();
  return new Client(addr ?? grpcTarget(c!.grpcHost, c!.grpcPort), credentials.createInsecure());
}

async function grpcError(err: { code?: number; details?: string; message?: string }): Promise<CliError> {
  const { status } = await import('@grpc/grpc-js');
  return new CliError(`${status[err.code ?? 2] ?? err.code}: ${err.details || err.message}`, err.code === status.INVALID_ARGUMENT ? 2 : 1);
}

/** A verifier name ("numeric") or JSON spec, checked here (bad specs exit 2 before any call), as JSON. */
async function verifierSpec(spec: string): Promise<string> {
  const { createVerifier } = await import('@tuneloop/verifiers');
  await inputErrors(() => createVerifier(spec));
  return spec.trim().startsWith('{') ? spec : JSON.stringify({ type: spec.trim() });
}

/** "name", "name@version" (model store) or a model folder (sent as an absolute path; the service reads it). */
function refOf(text: string, flag: string): { name: string; version: string } {
  if (existsSync(text) && statSync(text).isDirectory()) return { name: path.resolve(text), version: '' };
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:@([A-Za-z0-9._-]+))?$/.exec(text);
  if (!m) throw new CliError(`${flag}: must be a model folder or name[@version], got ${JSON.stringify(text)}`, 2);
  return { name: m[1], version: m[2] === 'latest' ? '' : (m[2] ?? '') };
}

interface Row {
  prompt: string;
  sample: number;
  text: string;
  tokens: number[];
  tokenLogprobs: number[];
  logprob: number;
  finishReason: string;
  reward: number | null;
}

type GenOpts = {
  model: string; adapter?: string; prompt: string[]; n: number; maxNewTokens: number; temperature: number; topK: number; topP: number; seed: number;
  stop?: string[]; verifier?: string; reference?: string; json?: boolean; events?: boolean; local?: boolean; addr?: string;
};

const humanRows = (rows: Row[]) =>
  table(['prompt', '#', 'completion', 'logprob', 'finish', 'reward'], rows.map((x) => [x.prompt, x.sample, JSON.stringify(x.text), x.logprob.toFixed(3), x.finishReason, x.reward ?? '-']));

async function generateLocal(o: GenOpts): Promise<void> {
  if (o.adapter) throw new CliError('--adapter: needs the service (model-store adapters); drop --local', 2);
  if (o.stop?.length) throw new CliError('--stop: needs the service; drop --local', 2);
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
  const out: Row[] = rollouts.map((x, k) => ({
    prompt: prompts[x.promptIndex].prompt, sample: k % o.n, text: x.text, tokens: x.tokens, tokenLogprobs: x.logprobs,
    logprob: x.logprobs.reduce((a, b) => a + b, 0), finishReason: x.finishReason, reward: rewards ? rewards[k] : null,
  }));
  emit(!!o.json, out, humanRows);
}

const FINISH = ['', 'eos', 'length', 'stop'];

async function generateRemote(o: GenOpts): Promise<void> {
  const verifierJson = o.verifier ? await verifierSpec(o.verifier) : '';
  const policy = { base: refOf(o.model, '--model'), ...(o.adapter ? { adapter: refOf(o.adapter, '--adapter') } : {}) };
  const client = await rolloutClient(o.addr);
  const write = (s: string) => process.stdout.write(s);
  const rows: Row[] = [];
  try {
    for (const [p, prompt] of o.prompt.entries()) {
      const done: Row[] = Array.from({ length: o.n }, (_, i) => ({ prompt, sample: i, text: '', tokens: [], tokenLogprobs: [], logprob: 0, finishReason: '', reward: null }));
      const call = client.generate({
        policy, input: { $case: 'prompt', value: prompt }, n: o.n,
        sampling: { maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed, stop: o.stop ?? [] },
      });
      const cancel = () => call.cancel();
      process.once('SIGINT', cancel);
      if (!o.json && o.n === 1) write(`${prompt}`);
      try {
        for await (const m of call as AsyncIterable<GenerateResponse>) {
          const r = done[m.index];
          r.text += m.textDelta;
          r.tokens.push(...m.tokenIds);
          r.tokenLogprobs.push(...m.tokenLogprobs);
          r.logprob += m.logprob;
          if (m.finishReason) r.finishReason = FINISH[m.finishReason] ?? String(m.finishReason);
          if (o.json && o.events) {
            write(JSON.stringify({ event: 'token', prompt: p, sample: m.index, step: r.tokens.length - 1, tokenIds: m.tokenIds, tokenLogprobs: m.tokenLogprobs, textDelta: m.textDelta, ...(r.finishReason ? { finishReason: r.finishReason } : {}) }) + '\n');
          } else if (!o.json && o.n === 1) {
            write(m.textDelta);
          }
        }
      } catch (err) {
        throw await grpcError(err as { code?: number; details?: string });
      } finally {
        process.removeListener('SIGINT', cancel);
      }
      if (verifierJson) {
        const res = await new Promise<{ results: { score: number; detail: string }[] }>((resolve, reject) =>
          client.verify({ verifierJson, items: done.map((r) => ({ prompt, completion: r.text, reference: o.reference ?? '' })) }, (e, v) => (e ? reject(e) : resolve(v))),
        ).catch(async (e) => { throw await grpcError(e as { code?: number; details?: string }); });
        res.results.forEach((s, i) => (done[i].reward = /not applicable/.test(s.detail) ? null : s.score));
      }
      if (!o.json) {
        if (o.n === 1) write(`  (${done[0].finishReason}, ${done[0].tokens.length} tokens, logprob ${done[0].logprob.toFixed(3)}${done[0].reward !== null ? `, reward ${done[0].reward}` : ''})\n`);
        else write(humanRows(done) + '\n');
      }
      rows.push(...done);
    }
  } finally {
    client.close();
  }
  if (o.json) process.stdout.write(o.events ? JSON.stringify({ event: 'done', completions: rows }) + '\n' : JSON.stringify(rows, null, 2) + '\n');
}

export function register(program: Command): void {
  const r = program.command('rollout').description('Generation with a policy and verifiers (GRPO groups, best-of-N), through the rollout service or --local.');
  r.command('verify')
    .description('score a completion with a verifier spec')
    .requiredOption('--verifier <spec>', 'verifier name or JSON spec, e.g. \'{"type":"numeric"}\'')
    .requiredOption('--completion <text>', 'the completion to score')
    .option('--prompt <text>', 'the prompt', '')
    .option('--reference <text>', 'reference answer / tests')
    .option('--local', 'score in this process instead of the service')
    .option('--addr <host:port>', 'gRPC address (default TUNELOOP_GRPC_ADDR)')
    .option('--json', 'print JSON')
    .action(async (o: { verifier: string; completion: string; prompt: string; reference?: string; local?: boolean; addr?: string; json?: boolean }) => {
      const { createVerifier } = await import('@tuneloop/verifiers');
      const v = await inputErrors(() => createVerifier(o.verifier));
      let score: number | null;
      if (o.local) {
        score = await v.score(o.prompt, o.completion, o.reference);
      } else {
        const client = await rolloutClient(o.addr);
        try {
          const res = await new Promise<{ results: { score: number; detail: string }[] }>((resolve, reject) =>
            client.verify({ verifierJson: o.verifier.trim().startsWith('{') ? o.verifier : JSON.stringify({ type: o.verifier.trim() }), items: [{ prompt: o.prompt, completion: o.completion, reference: o.reference ?? '' }] }, (e, x) => (e ? reject(e) : resolve(x))),
          ).catch(async (e) => { throw await grpcError(e as { code?: number; details?: string }); });
          score = /not applicable/.test(res.results[0].detail) ? null : res.results[0].score;
        } finally {
          client.close();
        }
      }
      emit(!!o.json, { verifier: v.name, score }, (x) => `${x.verifier}: ${x.score === null ? 'not applicable' : x.score}`);
    });
  r.command('generate')
    .description('sample N completions per prompt, streamed token by token from the rollout service (tokens, per-token log-probs, finish reasons, rewards)')
    .requiredOption('--model <dir|ref>', 'model folder, or a model-store name[@version] (service only)')
    .option('--adapter <ref>', 'model-store adapter name[@version] on top of --model (service only)')
    .requiredOption('--prompt <text...>', 'one or more prompts')
    .option('--n <n>', 'completions per prompt', num, 4)
    .option('--max-new-tokens <n>', 'tokens per completion', num, 16)
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', num, 1)
    .option('--top-k <k>', 'top-k (0 = off)', num, 0)
    .option('--top-p <p>', 'top-p (1 = off)', num, 1)
    .option('--seed <s>', 'seed (completion k uses seed + k)', num, 0)
    .option('--stop <text...>', 'stop strings (service only)')
    .option('--verifier <spec>', 'score each completion with this verifier')
    .option('--reference <text>', 'reference answer for the verifier (all prompts)')
    .option('--local', 'generate in this process from a model folder instead of the service')
    .option('--addr <host:port>', 'gRPC address (default TUNELOOP_GRPC_ADDR)')
    .option('--json', 'print JSON: one array of completions at the end')
    .option('--events', 'with --json: one JSON object per token event (NDJSON), then {"event":"done","completions":[...]}')
    .action(async (o: GenOpts) => {
      if (!Number.isInteger(o.n) || o.n < 1) throw new CliError(`--n: must be an integer >= 1, got ${o.n}`, 2);
      if (o.events && !o.json) throw new CliError('--events: goes with --json', 2);
      await (o.local ? generateLocal(o) : generateRemote(o));
    });
}
