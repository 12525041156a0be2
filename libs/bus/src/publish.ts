// Typed publish over the SUBJECTS table: validate, JSON-encode, publish with Nats-Msg-Id (dedup), await the PubAck.
import { headers } from '@nats-io/nats-core';
import type { PubAck } from '@nats-io/jetstream';
import type { Bus } from './connect.ts';
import { wireSubject } from './names.ts';
import { parsePayload, type JobSubject, type PayloadIn, type Subject } from './subjects.ts';

export interface PublishOptions {
  /** dedup id: a second publish with the same id within the stream's window stores nothing */
  msgId: string;
  /** PubAck timeout; default 5000 ms */
  timeoutMs?: number;
}

export interface PublishResult {
  stream: string;
  seq: number;
  /** true when the server recognised msgId as a duplicate and stored nothing */
  duplicate: boolean;
}

const MSG_ID_RE = /^[^\s]{1,256}$/;

/** Encodes a value as UTF-8 JSON. */
export function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** Decodes UTF-8 JSON; throws a SyntaxError naming the subject. */
export function decodeJson(data: Uint8Array, subject: string): unknown {
  const text = new TextDecoder().decode(data);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SyntaxError(`${subject}: payload is not JSON (${(err as Error).message})`);
  }
}

/** Publishes raw JSON to a wire subject with a dedup id (used for dead letters and progress). */
export async function publishRaw(bus: Bus, wire: string, value: unknown, opts: PublishOptions): Promise<PublishResult> {
  if (!MSG_ID_RE.test(opts.msgId)) {
    throw new Error(`msgId: must be 1-256 characters without spaces, got ${JSON.stringify(opts.msgId)}`);
  }
  const h = headers();
  h.set('Nats-Msg-Id', opts.msgId);
  const ack: PubAck = await bus.js.publish(wire, encodeJson(value), { headers: h, timeout: opts.timeoutMs ?? 5000 });
  return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
}

/** Validates `payload` against SUBJECTS[subject] and publishes it; resolves once JetStream stored it. */
export async function publish<S extends Subject>(
  bus: Bus,
  subject: S,
  payload: PayloadIn<S>,
  opts: PublishOptions,
): Promise<PublishResult> {
  const value = parsePayload(subject, payload);
  return publishRaw(bus, wireSubject(bus.names, subject), value, opts);
}

/** Producer side of a work queue: `publish` restricted to job subjects (JOBS stream). */
export function enqueue<S extends JobSubject>(
  bus: Bus,
  subject: S,
  payload: PayloadIn<S>,
  opts: PublishOptions,
): Promise<PublishResult> {
  if (!subject.startsWith('jobs.')) throw new Error(`subject: enqueue needs a jobs.* subject, got ${subject}`);
  return publish(bus, subject, payload, opts);
}
