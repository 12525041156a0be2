// Screenshots for the README (run by hand, not a test): builds/starts the app on a temp SQLite file,
// seeds a project that three annotators ranked through the API, then captures the ranking screen and
// the dashboard in Chromium into docs/images/.
// Run: npx tsx apps/labeling/scripts/readme-screenshots.ts
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ApiClient, APP_DIR, buildApp, startApp } from '../test/app-server.ts';

const OUT = path.resolve(APP_DIR, '../../docs/images');
const ADMIN = { email: 'admin@example.org', password: 'admin-password-1' };

const questions = [
  ['Reverse a string in Python.', 's[::-1]', "''.join(reversed(s))", 'for c in s: out = c + out'],
  ['Check whether a number is prime.', 'trial division up to sqrt(n)', 'try every divisor below n', 'n % 2 == 1'],
  ['Read a JSON file.', 'json.load(open(path))', 'with open(path) as f: json.load(f)', 'eval(open(path).read())'],
  ['Sort a list of dicts by a key.', "sorted(xs, key=lambda d: d['k'])", "xs.sort(key=itemgetter('k'))", 'bubble sort by hand'],
  ['Count words in a text.', 'Counter(text.split())', 'a dict and a loop', 'len(text)'],
  ['Merge two dicts.', 'a | b', '{**a, **b}', 'a.update(b) (mutates a)'],
  ['Flatten a nested list.', 'itertools.chain.from_iterable', 'sum(xs, [])', 'str(xs).replace("[", "")'],
  ['Remove duplicates keeping order.', 'list(dict.fromkeys(xs))', 'a seen set and a loop', 'list(set(xs))'],
  ['Time a function.', 'time.perf_counter() around the call', 'timeit.timeit(fn, number=100)', 'datetime.now() twice'],
];
const answer = (title: string, code: string, note: string) =>
  `**${note}**\n\n\`\`\`python\n# ${title}\ndef solve(x):\n    return ${code.replace(/\n/g, ' ')}  # ${note.toLowerCase()}\n\`\`\`\n\nThis ${note === 'Idiomatic' ? 'is the standard way' : 'works, with caveats'}.`;

async function main() {
  mkdirSync(OUT, { recursive: true });
  const home = mkdtempSync(path.join(os.tmpdir(), 'tuneloop-shots-'));
  await buildApp();
  const app = await startApp({ TUNELOOP_HOME: home, TUNELOOP_ADMIN_EMAIL: ADMIN.email, TUNELOOP_ADMIN_PASSWORD: ADMIN.password, TUNELOOP_LABELING_RELAY: 'off' });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const admin = new ApiClient(app.url);
    await admin.signIn(ADMIN.email, ADMIN.password);
    const guidelines = '## Rank for correctness first\n\n1. Code that is **wrong** ranks last.\n2. Prefer the idiomatic, standard-library answer.\n3. Then clarity and brevity.\n\nUse *T* for a tie only when both are equally good.';
    const { project } = await admin.json<{ project: { id: string } }>('POST', '/api/projects', { name: 'Python answers, round 1', guidelines, annotatorsPerItem: 3, k: 3 });
    const lines = questions.map(([q, a, b, c]) => JSON.stringify({ prompt: `How do I **${q.toLowerCase().replace(/\.$/, '')}**?`, responses: [answer(q, a, 'Idiomatic'), answer(q, b, 'Also fine'), answer(q, c, 'Fragile')] }));
    await admin.request('POST', `/api/projects/${project.id}/import`, { raw: lines.join('\n') });
    const names = ['ana', 'ben', 'chen', 'dara'];
    for (const n of names) await admin.json('POST', '/api/users', { email: `${n}@example.org`, password: 'annotator-pass-1', role: 'annotator' });
    let seed = 3;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (const [i, n] of names.slice(0, 3).entries()) {
      const c = new ApiClient(app.url);
      await c.signIn(`${n}@example.org`, 'annotator-pass-1');
      for (let j = 0; j < 7 - i; j++) {
        const { item } = await c.json<{ item: { assignmentId: string; order: number[] } | null }>('POST', `/api/projects/${project.id}/next`, {});
        if (!item) break;
        const truth = rnd() < 0.2 ? [1, 0, 2] : rnd() < 0.1 ? [0, 2, 1] : [0, 1, 2];
        const ranking = truth.map((orig) => [item.order.indexOf(orig)]);
        await c.json('POST', `/api/assignments/${item.assignmentId}/submit`, { ranking, durationMs: Math.round(4000 + rnd() * 40000), strength: rnd() < 0.5 ? 'much' : null, comment: j === 1 ? `Answer ${item.order[0] + 1} misses the edge cases.` : '' });
      }
    }
    const signIn = async (email: string, password: string, viewport: { width: number; height: number }) => {
      const page = await (await browser.newContext({ viewport, deviceScaleFactor: 1 })).newPage();
      await page.goto(`${app.url}/signin`);
      await page.getByLabel('E-mail').fill(email);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/(admin|annotate)$/);
      return page;
    };
    const ann = await signIn('dara@example.org', 'annotator-pass-1', { width: 1280, height: 820 });
    await ann.goto(`${app.url}/annotate/${project.id}`);
    await ann.getByTestId('response-1').waitFor();
    await ann.keyboard.press('1');
    await ann.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await ann.screenshot({ path: path.join(OUT, 'labeling-ranking.png') });
    const adm = await signIn(ADMIN.email, ADMIN.password, { width: 1200, height: 900 });
    await adm.goto(`${app.url}/admin/projects/${project.id}`);
    await adm.screenshot({ path: path.join(OUT, 'labeling-dashboard.png'), fullPage: true });
    console.log(`wrote ${OUT}/labeling-ranking.png and labeling-dashboard.png`);
  } finally {
    await browser.close();
    await app.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
