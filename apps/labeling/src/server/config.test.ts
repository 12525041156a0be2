import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has defaults and resolves a relative home from where npm was invoked', () => {
    const c = loadConfig({ INIT_CWD: '/repo' });
    expect(c.home).toBe(path.resolve('/repo', '.tuneloop'));
    expect(c.natsUrl).toBe('nats://127.0.0.1:4222');
    expect(c.relay).toBe(true);
    expect(c.undoGraceMs).toBe(15_000);
    expect(loadConfig({ TUNELOOP_HOME: '/data/tl' }).home).toBe('/data/tl');
  });
  it('names the variable and the limit on bad values', () => {
    expect(() => loadConfig({ TUNELOOP_LABELING_LEASE_MS: '10' })).toThrow('TUNELOOP_LABELING_LEASE_MS: must be an integer >= 1000, got "10"');
    expect(() => loadConfig({ TUNELOOP_LABELING_RELAY: 'maybe' })).toThrow('TUNELOOP_LABELING_RELAY: must be on or off');
    expect(() => loadConfig({ TUNELOOP_ADMIN_EMAIL: 'a@b.c' })).toThrow('set both or neither');
  });
});
