// The demo round of the local stack, as a one-shot child of `npm start`: the policy (the tiny base model
// under TUNELOOP_HOME/models/tiny-arith, when `tuneloop pretrain` has made it) samples two responses per
// held-out arithmetic prompt, and the comparisons are imported into a labeling project that annotators rank
// at once. Without the model, the responses come from the synthetic preference task (libs/datasets).
// It talks to the labeling app over its HTTP API, as an admin would; a second run finds the project and stops.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ApiClient } from '../../apps/labeling/src/lib/api-client-node.ts';

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

export async function seedDemoRound(opts: { home: string; labelingUrl: string; email: string; password: string }) {
  const admin = new ApiClient(opts.labelingUrl);
  const signIn = await admin.signIn(opts.email, opts.password);
  if (!signIn.ok) throw new Error(`sign-in as ${opts.email}: ${signIn.status}`);
  const { projects } = await admin.json<{ projects: { id: string; name: string }[] }>('GET', '/api/projects');
  const existing = projects.find((p) => p.name === PROJECT);
  if (existing) return { projectId: existing.id, created: false, source: 'existing', comparisons: 0 };
  const modelDir = path.join(opts.home, 'models', 'tiny-arith');
  const hasModel = existsSync(path.join(modelDir, 'config.json'));
  const comparisons = hasModel ? await fromPolicy(modelDir) : await fromTask();
  const { project } = await admin.json<{ project: { id: string } }>('POST', '/api/projects', {
    name: PROJECT,
    guidelines: GUIDELINES,
    annotatorsPerItem: 1,
    k: 2,
  });
  const jsonl = comparisons.map((c) => JSON.stringify(c)).join('\n');
  const imported = await admin.request('POST', `/api/projects/${project.id}/import`, {
    raw: jsonl,
    headers: { 'content-type': 'application/jsonl' },
  });
  if (!imported.ok) throw new Error(`import: ${imported.status} ${await imported.text()}`);
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
