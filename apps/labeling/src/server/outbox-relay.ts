// Outbox relay: publishes unsent outbox rows on NATS JetStream with the row id as the dedup id
// (Nats-Msg-Id) and marks a row sent only after its PubAck. While NATS is unreachable rows wait;
// a row published but not marked (crash) is published again and JetStream drops the duplicate.
import type { Kysely } from 'kysely';
import type { Database } from '@tuneloop/store';
import { connectBus, provision, publish, type Bus, type Subject } from '@tuneloop/bus';

export interface RelayOptions {
  url: string;
  /** bus name prefix (tests); '' in production */
  prefix?: string;
  batch?: number;
  intervalMs?: number;
  logger?: { info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void };
}

export interface RelayTick { sent: number; failed: number; error?: string }

export class OutboxRelay {
  private bus: Bus | null = null;
  private connecting: Promise<Bus> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private ticking: Promise<RelayTick> | null = null;
  private backoffMs = 0;
  lastError: string | null = null;
  sentTotal = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly opts: RelayOptions,
  ) {}

  private async ensureBus(): Promise<Bus> {
    if (this.bus && !this.bus.nc.isClosed()) return this.bus;
    this.connecting ??= (async () => {
      const bus = await connectBus({ url: this.opts.url, name: 'labeling-outbox', prefix: this.opts.prefix ?? '', connectTimeoutMs: 2000, reconnectWaitMs: 500 });
      try {
        await provision(bus);
      } catch (err) {
        await bus.close();
        throw err;
      }
      this.bus = bus;
      return bus;
    })().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  /** Publish every due row once (a batch at a time); never throws. */
  tick(now = Date.now()): Promise<RelayTick> {
    this.ticking ??= this.runTick(now).finally(() => { this.ticking = null; });
    return this.ticking;
  }

  private async runTick(now: number): Promise<RelayTick> {
    const batch = this.opts.batch ?? 200;
    const result: RelayTick = { sent: 0, failed: 0 };
    for (;;) {
      const rows = await this.db.selectFrom('outbox').select(['id', 'subject', 'payload']).where('sent_at', 'is', null).where('available_at', '<=', now).orderBy('created_at').orderBy('id').limit(batch).execute();
      if (rows.length === 0) return result;
      let bus: Bus;
      try {
        bus = await this.ensureBus();
      } catch (err) {
        result.error = this.lastError = (err as Error).message;
        result.failed += rows.length;
        return result;
      }
      const settled = await Promise.allSettled(rows.map((r) => publish(bus, r.subject as Subject, JSON.parse(r.payload), { msgId: r.id })));
      const ok = rows.filter((_, i) => settled[i].status === 'fulfilled').map((r) => r.id);
      if (ok.length) {
        await this.db.updateTable('outbox').set({ sent_at: Date.now() }).where('id', 'in', ok).where('sent_at', 'is', null).execute();
        result.sent += ok.length;
        this.sentTotal += ok.length;
      }
      const bad = settled.map((s, i) => (s.status === 'rejected' ? { id: rows[i].id, err: String((s.reason as Error)?.message ?? s.reason) } : null)).filter((x) => x !== null);
      if (bad.length) {
        result.failed += bad.length;
        result.error = this.lastError = bad[0].err;
        await this.db.updateTable('outbox').set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: bad[0].err.slice(0, 500) })).where('id', 'in', bad.map((b) => b.id)).execute();
        return result;
      }
      this.lastError = null;
      if (rows.length < batch) return result;
    }
  }

  /** Poll every intervalMs (backing off up to 10 s while NATS is unreachable). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async () => {
      if (!this.running) return;
      const r = await this.tick().catch((err: Error) => ({ sent: 0, failed: 1, error: err.message }) as RelayTick);
      if (r.error) {
        this.backoffMs = Math.min(10_000, Math.max(500, this.backoffMs * 2));
        this.opts.logger?.warn({ err: r.error, pending: r.failed }, 'outbox relay: publish failed, will retry');
      } else this.backoffMs = 0;
      if (this.running) this.timer = setTimeout(loop, Math.max(this.opts.intervalMs ?? 250, this.backoffMs));
    };
    void loop();
  }

  /** Run a tick soon (after a submission) instead of waiting for the next poll. */
  nudge(): void {
    if (this.running && this.backoffMs === 0) setTimeout(() => void this.tick(), 0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking?.catch(() => undefined);
    await this.bus?.close().catch(() => undefined);
    this.bus = null;
  }
}

export async function pendingOutbox(db: Kysely<Database>): Promise<number> {
  const r = await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('sent_at', 'is', null).executeTakeFirstOrThrow();
  return Number(r.n);
}
