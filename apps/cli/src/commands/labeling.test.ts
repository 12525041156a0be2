// The labeling CLI group against a real SQLite file: create-admin, duplicate refused, users --json.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../main.ts';

describe('tuneloop labeling', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'tuneloop-cli-labeling-'));
  const saved = { home: process.env.TUNELOOP_HOME, url: process.env.TUNELOOP_DATABASE_URL };
  process.env.TUNELOOP_HOME = home;
  delete process.env.TUNELOOP_DATABASE_URL;
  afterAll(() => {
    process.env.TUNELOOP_HOME = saved.home;
    if (saved.url !== undefined) process.env.TUNELOOP_DATABASE_URL = saved.url;
    rmSync(home, { recursive: true, force: true });
  });

  it('creates the first admin, refuses a duplicate and lists users', async () => {
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const err: string[] = [];
    const ewrite = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
    process.stderr.write = ((s: string) => (err.push(s), true)) as typeof process.stderr.write;
    try {
      expect(await main(['node', 'tuneloop', 'labeling', 'create-admin', '--email', 'Root@Example.org', '--password', 'admin-password-1', '--json'])).toBe(0);
      expect(await main(['node', 'tuneloop', 'labeling', 'create-admin', '--email', 'root@example.org', '--password', 'admin-password-1'])).toBe(1);
      expect(await main(['node', 'tuneloop', 'labeling', 'create-user', '--email', 'a@example.org', '--password', 'short'])).toBe(1);
      expect(await main(['node', 'tuneloop', 'labeling', 'users', '--json'])).toBe(0);
    } finally {
      process.stdout.write = write;
      process.stderr.write = ewrite;
    }
    expect(JSON.parse(out[0])).toMatchObject({ email: 'root@example.org', role: 'admin' });
    expect(err.join('')).toContain('email: root@example.org already has an account');
    expect(err.join('')).toContain('password: must be a string of 10 to 200 characters');
    expect(JSON.parse(out[1]).map((u: { email: string }) => u.email)).toEqual(['root@example.org']);
  });
});
