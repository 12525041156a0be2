// End-to-end, in real Chromium against the built app (next build + next start), a real SQLite file
// and the real NATS server: admin creates a project and imports comparisons; an annotator ranks three
// items with the keyboard only, undoes one, skips one; pairs in the database, preference.created
// events on NATS, export matches; security (session, role, CSRF) and injection attempts stay inert.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openStore, type Store } from '@tuneloop/store';
import { ApiClient, APP_DIR, buildApp, startApp, type RunningApp } from './app-server.ts';
import { dropBusPrefix, NATS_URL, readEvents, testBusPrefix } from './nats-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUT = path.resolve(APP_DIR, '../../test-output');
const ADMIN = { email: 'admin@e2e.dev', password: 'admin-password-1' };
const ANNOTATOR = { email: 'ann@e2e.dev', password: 'annotator-pass-1' };
const XSS = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>`;
const SQLI = `'); DROP TABLE comparisons; --`;
const PROJECT_NAME = `Helpfulness <script>window.__pwned=1</script> ${SQLI}`;
const COMMENT = `Nice ${XSS} ${SQLI}`;
const comparisons = Array.from({ length: 5 }, (_, i) => ({
  prompt: `Item ${i}: write a function. ${XSS} ${SQLI}`,
  responses: [
    `Answer A${i}\n\n\`\`\`ts\nconst add = (a: number, b: number) => a + b; // sum\n\`\`\``,
    `Answer B${i} ${XSS} [click](javascript:window.__pwned=1)`,
    `Answer C${i}: **bold** and \`code\` ${SQLI}`,
  ],
}));

async function pwned(page: Page): Promise<unknown> {
  return page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned);
}

describe('labeling app end to end (Chromium, SQLite, NATS)', () => {
  let app: RunningApp;
  let browser: Browser;
  let home: string;
  let store: Store;
  let projectId = '';
  const prefix = testBusPrefix();

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: the e2e test needs Debian's chromium (apt-get install -y chromium)`);
    }
    mkdirSync(OUT, { recursive: true });
    home = mkdtempSync(path.join(os.tmpdir(), 'tuneloop-e2e-'));
    await buildApp();
    app = await startApp({
      TUNELOOP_HOME: home, TUNELOOP_ADMIN_EMAIL: ADMIN.email, TUNELOOP_ADMIN_PASSWORD: ADMIN.password,
      TUNELOOP_NATS_URL: NATS_URL, TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_LABELING_UNDO_GRACE_MS: '10000',
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    store = await openStore({ url: path.join(home, 'tuneloop.db') });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (process.env.TUNELOOP_E2E_SHOW_LOG === '1') console.log(app?.log());
    await store?.close();
    await dropBusPrefix(prefix).catch(() => undefined);
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('admin signs in, creates a project and imports comparisons in the browser', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(`${app.url}/`);
    await page.waitForURL(/\/signin$/);
    await page.getByLabel('E-mail').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/admin$/);
    await page.getByLabel('Name').fill(PROJECT_NAME);
    await page.getByLabel('Guidelines (Markdown)').fill('# How to rank\n\n- Prefer **correct** code.\n- Then clarity.');
    await page.getByLabel('Responses per comparison (K)').fill('3');
    await page.getByRole('button', { name: 'Create project' }).click();
    const card = page.getByTestId('project-card').first();
    await expect.poll(() => card.locator('h2').textContent(), { timeout: 10_000 }).toBe(PROJECT_NAME);
    await card.locator('textarea').fill(comparisons.map((c) => JSON.stringify(c)).join('\n'));
    // The import form reloads the page 600 ms after its success message: wait for that reload before
    // typing into the next form (on a loaded machine the typing would otherwise race it).
    const reloaded = page.waitForEvent('load', { timeout: 30_000 });
    await card.getByRole('button', { name: 'Import' }).click();
    await card.getByText('Imported 5 comparisons.').waitFor();
    await reloaded;
    await page.getByLabel('Password (10+ characters)').fill(ANNOTATOR.password);
    await page.getByLabel('E-mail', { exact: true }).fill(ANNOTATOR.email);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText(`Created annotator ${ANNOTATOR.email}.`).waitFor();
    await page.reload();
    expect(await pwned(page)).toBeUndefined();
    const p = await store.db.selectFrom('projects').selectAll().executeTakeFirstOrThrow();
    expect(p.name).toBe(PROJECT_NAME);
    expect(p.k).toBe(3);
    projectId = p.id;
    expect(await store.db.selectFrom('comparisons').select('prompt').where('project_id', '=', p.id).orderBy('source_line').execute()).toEqual(comparisons.map((c) => ({ prompt: c.prompt })));
    await ctx.close();
  });

  const rankedPrompts: string[] = [];
  it('annotator ranks three items with the keyboard only, undoes one, skips one', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await ctx.newPage();
    await page.goto(`${app.url}/signin`);
    // Enter submits only once the form is live: the button is enabled after hydration and the CSRF
    // fetch (on a loaded machine Enter could otherwise land on the server-rendered, disabled form).
    await page.locator('form button[type=submit]:enabled').waitFor();
    await page.locator('#email:focus').waitFor();
    await page.keyboard.type(ANNOTATOR.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ANNOTATOR.password);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/annotate$/);
    await page.goto(`${app.url}/annotate/${projectId}`);
    const count = page.getByTestId('session-count');
    const promptText = () => page.locator('.prompt').innerText();
    const waitItem = async (previous: string) => expect.poll(promptText, { timeout: 10_000 }).not.toBe(previous);
    await page.getByTestId('response-1').waitFor();

    // Item 1: 2 then 1 (3 is implied); a comment typed, then Tab to Submit and Enter.
    let prompt = await promptText();
    expect(prompt).toContain('<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>');
    expect(await page.locator('.prompt img, .prompt script, .response img, .response script').count()).toBe(0);
    expect(await page.locator('.response a[href^="javascript"]').count()).toBe(0);
    expect(await page.locator('.response pre.code .tok-keyword').first().textContent()).toBe('const');
    rankedPrompts.push(prompt);
    await page.keyboard.press('2');
    await page.keyboard.press('1');
    await page.getByTestId('slot-3').getByText('Response 3').waitFor();
    await page.locator('#comment').focus();
    await page.keyboard.type(COMMENT);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect.poll(() => count.innerText()).toBe('This session: 1');
    await waitItem(prompt);

    // Item 2: 3, 2, Enter. Item 3: 1, 3, Enter.
    for (const keys of [['3', '2'], ['1', '3']]) {
      prompt = await promptText();
      rankedPrompts.push(prompt);
      for (const k of keys) await page.keyboard.press(k);
      if (keys[0] === '1') await page.screenshot({ path: path.join(OUT, 'labeling-ranking.png') });
      await page.keyboard.press('Enter');
      await expect.poll(() => count.innerText()).toBe(`This session: ${rankedPrompts.length}`);
      await waitItem(prompt);
    }
    // Undo (U): the third item comes back; then skip it (S).
    const fourth = await promptText();
    await page.keyboard.press('u');
    await expect.poll(promptText, { timeout: 10_000 }).toBe(rankedPrompts[2]);
    await expect.poll(() => count.innerText()).toBe('This session: 2');
    // Drag-and-drop works too (then Esc clears it): response 2 into the first rank slot.
    await page.dragAndDrop('[data-testid="response-2"]', '[data-testid="slot-1"]');
    await page.getByTestId('slot-1').getByText('Response 2').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('slot-1').getByText('drop or press a number').waitFor();
    await page.keyboard.press('s');
    await expect.poll(() => page.getByTestId('status').innerText()).toBe('Skipped.');
    expect(await promptText()).toBe(fourth);
    expect(await pwned(page)).toBeUndefined();
    await ctx.close();
  });

  it('the pairs are in the database with annotator, time, strength and round', async () => {
    const user = await store.db.selectFrom('users').select('id').where('email', '=', ANNOTATOR.email).executeTakeFirstOrThrow();
    const rankings = await store.db.selectFrom('rankings').selectAll().where('project_id', '=', projectId).orderBy('created_at').execute();
    expect(rankings).toHaveLength(2);
    expect(rankings[0].comment).toBe(COMMENT);
    const pairs = await store.db.selectFrom('preference_pairs').selectAll().where('project_id', '=', projectId).execute();
    expect(pairs).toHaveLength(6);
    expect(pairs.every((p) => p.user_id === user.id && p.round === 1 && p.created_at > 0 && p.strength === null)).toBe(true);
    // The first ranking was "screen 2, then 1, then 3": mapped through the recorded response order.
    const order = JSON.parse(rankings[0].response_order) as number[];
    expect(JSON.parse(rankings[0].ranking)).toEqual([[order[1]], [order[0]], [order[2]]]);
    const skipped = await store.db.selectFrom('assignments').select('status').where('user_id', '=', user.id).where('status', '=', 'skipped').execute();
    expect(skipped).toHaveLength(1);
    expect((await store.db.selectFrom('comparisons').select('id').execute()).length).toBe(5);
  });

  it('preference.created events arrive on NATS, one per pair, with the pair id as dedup id', async () => {
    const pairs = await store.db.selectFrom('preference_pairs').select('id').where('project_id', '=', projectId).execute();
    await expect.poll(async () => (await readEvents(prefix)).length, { timeout: 40_000, interval: 500 }).toBe(6);
    const events = await readEvents(prefix);
    expect(new Set(events.map((e) => e.msgId))).toEqual(new Set(pairs.map((p) => p.id)));
    expect(events.every((e) => e.data.projectId === projectId && typeof e.data.chosen === 'string')).toBe(true);
    expect(await store.db.selectFrom('outbox').select('id').where('sent_at', 'is', null).execute()).toHaveLength(0);
  });

  it('the TRL JSONL and CSV exports match the database', async () => {
    const admin = new ApiClient(app.url);
    expect((await admin.signIn(ADMIN.email, ADMIN.password)).status).toBe(200);
    const res = await admin.request('GET', `/api/projects/${projectId}/export?format=jsonl`);
    expect(res.headers.get('content-type')).toMatch(/jsonl/);
    const text = await res.text();
    writeFileSync(path.join(OUT, 'labeling-export.jsonl'), text);
    const rows = await store.db.selectFrom('preference_pairs as p').innerJoin('comparisons as c', 'c.id', 'p.comparison_id').select(['c.prompt', 'c.responses', 'p.chosen_index', 'p.rejected_index']).where('p.project_id', '=', projectId).execute();
    const expected = rows.map((r) => { const rs = JSON.parse(r.responses); return JSON.stringify({ prompt: r.prompt, chosen: rs[r.chosen_index], rejected: rs[r.rejected_index] }); });
    expect(text.trim().split('\n').sort()).toEqual(expected.sort());
    const csv = await (await admin.request('GET', `/api/projects/${projectId}/export?format=csv&round=1`)).text();
    expect(csv.trim().split('\r\n')).toHaveLength(1 + 6);
    expect((await (await admin.request('GET', `/api/projects/${projectId}/export?format=jsonl&round=2`)).text())).toBe('');
  });

  it('the dashboard shows charts, and the comment and project name inert', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
    const page = await ctx.newPage();
    await page.goto(`${app.url}/signin`);
    await page.getByLabel('E-mail').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/admin$/);
    await page.goto(`${app.url}/admin/projects/${projectId}`);
    expect(await page.locator('figure.chart svg').count()).toBeGreaterThanOrEqual(4);
    expect(await page.getByTestId('comment').innerText()).toContain(COMMENT);
    expect(await page.locator('h1').innerText()).toContain(PROJECT_NAME);
    expect(await page.locator('.comments img, .comments script, h1 script').count()).toBe(0);
    await page.screenshot({ path: path.join(OUT, 'labeling-dashboard.png'), fullPage: true });
    expect(await pwned(page)).toBeUndefined();
    await ctx.close();
  });

  it('security: mutations without a session, with the wrong role or without the CSRF token are refused', async () => {
    const anon = new ApiClient(app.url);
    const ann = new ApiClient(app.url);
    const admin = new ApiClient(app.url);
    expect((await ann.signIn(ANNOTATOR.email, ANNOTATOR.password)).status).toBe(200);
    const signin = await admin.signIn(ADMIN.email, ADMIN.password);
    const cookie = signin.headers.getSetCookie().find((c) => c.startsWith('tl_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    const viaHttps = new ApiClient(app.url);
    const t = await (await viaHttps.request('GET', '/api/auth/csrf')).json();
    const secure = await viaHttps.request('POST', '/api/auth/signin', { body: ADMIN, csrf: t.csrfToken, headers: { 'x-forwarded-proto': 'https' } });
    expect(secure.headers.getSetCookie().find((c) => c.startsWith('tl_session='))).toMatch(/; Secure/);

    const assignment = await store.db.selectFrom('assignments').select('id').executeTakeFirstOrThrow();
    const mutations: [string, unknown][] = [
      ['/api/projects', { name: 'x', annotatorsPerItem: 1, k: 2 }],
      [`/api/projects/${projectId}/import`, undefined],
      [`/api/projects/${projectId}/round`, {}],
      [`/api/projects/${projectId}/next`, {}],
      [`/api/projects/${projectId}/undo`, {}],
      [`/api/assignments/${assignment.id}/submit`, { ranking: [[0], [1], [2]] }],
      [`/api/assignments/${assignment.id}/skip`, {}],
      ['/api/users', { email: 'evil@x.dev', password: 'evil-password-1', role: 'admin' }],
      ['/api/auth/signout', {}],
    ];
    const adminOnly = new Set(['/api/projects', `/api/projects/${projectId}/import`, `/api/projects/${projectId}/round`, '/api/users']);
    const before = await store.db.selectFrom('projects').select('id').execute();
    for (const [p, body] of mutations) {
      const raw = body === undefined ? '{"prompt":"x","responses":["a","b","c"]}' : undefined;
      expect((await anon.request('POST', p, { body, raw, csrf: 'forged' })).status, `no session: ${p}`).toBe(401);
      expect((await admin.request('POST', p, { body, raw, csrf: null })).status, `no CSRF: ${p}`).toBe(403);
      expect((await admin.request('POST', p, { body, raw, csrf: 'wrong-token' })).status, `wrong CSRF: ${p}`).toBe(403);
      expect((await admin.request('POST', p, { body, raw, headers: { origin: 'https://evil.example' } })).status, `cross-origin: ${p}`).toBe(403);
      if (adminOnly.has(p)) expect((await ann.request('POST', p, { body, raw })).status, `annotator on admin route: ${p}`).toBe(403);
    }
    for (const p of [`/api/projects/${projectId}/export?format=csv`, `/api/projects/${projectId}/dashboard`, '/api/users']) {
      expect((await anon.request('GET', p)).status).toBe(401);
      expect((await ann.request('GET', p)).status).toBe(403);
    }
    expect(await (await ann.request('GET', '/admin')).text()).toContain('This page needs the admin role.');
    expect((await anon.request('GET', '/admin')).status).toBe(307);
    expect(await store.db.selectFrom('projects').select('id').execute()).toEqual(before);
    expect(await store.db.selectFrom('users').select('id').where('email', '=', 'evil@x.dev').execute()).toEqual([]);
    // Sign-in: needs the pre-session CSRF token, and is rate-limited after 5 failures.
    expect((await anon.request('POST', '/api/auth/signin', { body: ANNOTATOR, csrf: null })).status).toBe(403);
    const brute = new ApiClient(app.url);
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await brute.signIn('victim@e2e.dev', `guess-${i}-password`)).status);
    expect(codes).toEqual([401, 401, 401, 401, 401, 429]);
  });
});
