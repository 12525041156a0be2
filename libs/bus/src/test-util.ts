// Test helpers: a unique name prefix per test run and a bus connected to the real local NATS server.
import { randomBytes } from 'node:crypto';
import { connectBus, type Bus } from './connect.ts';

export const NATS_URL = process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222';

/** 'T' + 8 random hex chars + '_' — unique per call, valid as a stream / bucket / subject prefix. */
export function testPrefix(): string {
  return `T${randomBytes(4).toString('hex')}_`;
}

export function testBus(prefix: string, name = 'bus-test'): Promise<Bus> {
  return connectBus({ url: NATS_URL, name, prefix });
}
