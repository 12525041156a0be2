// The demo round of the local stack, as a one-shot child of `npm start`: the policy (the tiny base model
// under TUNELOOP_HOME/models/tiny-arith, when `tuneloop pretrain` has made it) samples two responses per
// held-out arithmetic prompt, and the comparisons are imported into a labeling project that annotators rank
// at once. Without the model, the responses come from the synthetic preference task (libs/datasets).
// It talks to the labeling app over its HTTP API, as an admin would; a second run finds the project and stops.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const PROJECT = 'Demo round 1: arithmetic';
const PROMPTS = 12;
const GUIDELINES = `# Rank for correctness first

1. A response with the **right sum** beats a wrong one.
2. Between two right (or two wrong) answers, the **shorter** one wins.
3. Use *T* for a tie only when both are equally good, *B* when both are bad.`;

interface Comparison {
  prompt: string;
  responses: string[];
}

/** Two sampled responses per held-out prompt from the policy. */
async function fromPolicy(modelDir: string): Promise<Comparison[]> {
  const { initBackend } = await import('@tuneloop/engine');
  const { loadModel } = await import('@tuneloop/files');
  const { generate } = await import('@tuneloop/model');
  const { heldOutAdditions } = await import('@tuneloop/datasets');
  await initBackend({ quiet: true });
  const { model, tokenizer } = await loadModel(modelDir);
  if (!tokenizer) throw new Error(`${modelDir}: no tokenizer.json`);
  try {
    const prompts = heldOutAdditions().slice(0, PROMPTS).map((e) => e.prompt);
    const ids = prompts.map((p) => tokenizer.encode(p));
    const decode = (t: number[]) => tokenizer.decode(t, { skipSpecialTokens: true });
    const sample = (seed: number) =>
      generate(model, ids, { temperature: 1.5, maxNewTokens: 12, seed, decode, stopStrings: ['\n'] });
    const [a, b] = [sample(1), sample(1000)];
    return prompts.map((prompt, i) => ({ prompt, responses: [a[i].text.trim(), b[i].text.trim()] }));
  } finally {
    model.dispose();
  }
}

/** Responses of known quality from the synthetic preference task (when there is no model yet). */
async function fromTask(): Promise<Comparison[]> {
  const { preferenceTask } = await import('@tuneloop/datasets');
  return preferenceTask({ count: PROMPTS, split: 'eval', seed: 1 }).map((p, i) => ({
    prompt: p.prompt,
    responses: i % 2 ? [p.better, p.worse] : [p.worse, p.better],
  }));
}

class Admin {
  private cookies = new Map<string, string>();
  private csrf = '';
  constructor(private readonly base: string) {}

  async call<T>(method: string, p: string, body?: unknown, raw?: string): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.csrf) headers['x-csrf-token'] = this.csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (raw !== undefined) headers['content-type'] = 'application/jsonl';
    const res = await fetch(this.base + p, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
    for (const c of res.headers.getSetCookie()) {
      const [k, ...v] = c.split(';')[0].split('=');
      this.cookies.set(k, v.join('='));
    }
    const data = (await res.json().catch(() => ({}))) as T & { error?: { message?: string } };
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${data.error?.message ?? ''}`);
    return data;
  }

  async signIn(email: string, password: string): Promise<void> {
    this.csrf = (await this.call<{ csrfToken: string }>('GET', '/api/auth/csrf')).csrfToken;
    this.csrf = (await this.call<{ csrfToken: string }>('POST', '/api/auth/signin', { email, password })).csrfToken;
  }
}

export async function seedDemoRound(opts: { home: string; labelingUrl: string; email: string; password: string }) {
  const admin = new Admin(opts.labelingUrl);
  await admin.signIn(opts.email, opts.password);
  const { projects } = await admin.call<{ projects: { id: string; name: string }[] }>('GET', '/api/projects');
  const existing = projects.find((p) => p.name === PROJECT);
  if (existing) return { projectId: existing.id, created: false, source: 'existing', comparisons: 0 };
  const modelDir = path.join(opts.home, 'models', 'tiny-arith');
  const hasModel = existsSync(path.join(modelDir, 'config.json'));
  const comparisons = hasModel ? await fromPolicy(modelDir) : await fromTask();
  const { project } = await admin.call<{ project: { id: string } }>('POST', '/api/projects', {
    name: PROJECT,
    guidelines: GUIDELINES,
    annotatorsPerItem: 1,
    k: 2,
  });
  const jsonl = comparisons.map((c) => JSON.stringify(c)).join('\n');
  await admin.call('POST', `/api/projects/${project.id}/import`, undefined, jsonl);
  return {
    projectId: project.id,
    created: true,
    source: hasModel ? 'policy tiny-arith' : 'synthetic preference task',
    comparisons: comparisons.length,
  };
}

// Run as a child of `npm start`: arguments come in the environment, the result goes to stdout as JSON.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const home = process.env.TUNELOOP_HOME ?? '.tuneloop';
  const creds = JSON.parse(readFileSync(0, 'utf8')) as { email: string; password: string; labelingUrl: string };
  seedDemoRound({ home, ...creds }).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (err) => {
      process.stderr.write(`demo round: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
