// Dead letters: a job that failed for good is published to dead.<original subject> (DEAD stream)
// with its original payload, the error and the delivery count, then term()'ed from the work queue.
import { z } from 'zod';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/nats-core';
import type { Bus } from './connect.ts';
import { errorSummary } from './errors.ts';
import { logicalSubject, wireSubject } from './names.ts';
import { decodeJson, publishRaw } from './publish.ts';

export const DeadLetterSchema = z.object({
  /** logical subject the job was queued on, e.g. 'jobs.train.sft' */
  subject: z.string(),
  stream: z.string(),
  streamSeq: z.number().int(),
  consumer: z.string(),
  msgId: z.string().optional(),
  /** the original payload (decoded JSON, or the raw text when it was not JSON) */
  payload: z.unknown(),
  error: z.object({ name: z.string(), message: z.string(), code: z.string().optional(), retryable: z.boolean() }),
  deliveryCount: z.number().int(),
  /** handler-error: the handler threw; max-deliveries: no ack within maxDeliver deliveries (crash, timeout); bad-payload */
  reason: z.enum(['handler-error', 'max-deliveries', 'bad-payload']),
  failedAt: z.string(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

/** The raw payload for a dead letter: decoded JSON when it parses, otherwise the text. */
export function rawPayload(data: Uint8Array, subject: string): unknown {
  try {
    return decodeJson(data, subject);
  } catch {
    return new TextDecoder().decode(data);
  }
}

/** Publishes a dead letter; the dedup id is the original stream sequence, so a retry never duplicates it. */
export async function publishDeadLetter(bus: Bus, letter: DeadLetter): Promise<void> {
  const value = DeadLetterSchema.parse(letter);
  await publishRaw(bus, wireSubject(bus.names, `dead.${letter.subject}`), value, {
    msgId: `dead.${letter.stream}.${letter.streamSeq}`,
  });
}

/** Reads the dead letters stored so far (optionally of one logical subject), oldest first. */
export async function listDeadLetters(bus: Bus, subject?: string, opts: { max?: number } = {}): Promise<DeadLetter[]> {
  const stream = bus.names.streams.dead;
  const filter = wireSubject(bus.names, subject ? `dead.${subject}` : 'dead.>');
  const consumer = await bus.js.consumers.get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.All });
  const out: DeadLetter[] = [];
  try {
    const info = await consumer.info(true);
    let remaining = Math.min(info.num_pending, opts.max ?? 10_000);
    while (remaining > 0) {
      const m = await consumer.next({ expires: 2000 });
      if (!m) break;
      const letter = DeadLetterSchema.parse(decodeJson(m.data, logicalSubject(bus.names, m.subject)));
      out.push(letter);
      remaining--;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return out;
}

/**
 * A job whose last delivery was never acked (worker killed, ack wait expired) stays in the work-queue
 * stream and is not delivered again. The server announces it on the MAX_DELIVERIES advisory: one worker
 * of the durable (queue group) moves it to dead.<subject> and deletes it from the stream.
 */
export function watchMaxDeliveries(bus: Bus, stream: string, durable: string): Subscription {
  const subject = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${durable}`;
  return bus.nc.subscribe(subject, {
    queue: `${durable}-max-deliveries`,
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        const adv = msg.json<{ stream_seq: number; deliveries: number }>();
        const stored = await bus.jsm.streams.getMessage(stream, { seq: adv.stream_seq });
        if (!stored) return;
        const logical = logicalSubject(bus.names, stored.subject);
        await publishDeadLetter(bus, {
          subject: logical,
          stream,
          streamSeq: adv.stream_seq,
          consumer: durable,
          msgId: stored.header?.get('Nats-Msg-Id') || undefined,
          payload: rawPayload(stored.data, logical),
          error: errorSummary(new Error(`no ack after ${adv.deliveries} deliveries (worker crashed or ack wait expired)`)),
          deliveryCount: adv.deliveries,
          reason: 'max-deliveries',
          failedAt: new Date().toISOString(),
        });
        await bus.jsm.streams.deleteMessage(stream, adv.stream_seq, false);
        bus.logger.warn({ durable, seq: adv.stream_seq, deliveries: adv.deliveries }, 'bus: job dead-lettered after max deliveries without ack');
      })().catch((e: unknown) => {
        bus.logger.error({ durable, err: (e as Error).message }, 'bus: max-deliveries dead letter failed');
      });
    },
  });
}
