// Idempotent provisioning of the streams, KV buckets and object store of CONTRACTS.md:
// EVENTS (limits, dedup 2 min), JOBS (work queue), PROGRESS (1 day), DEAD, KV jobs/rounds, objects blobs.
import { nanos } from '@nats-io/nats-core';
import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { StreamConfig, StreamInfo } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import type { Bus } from './connect.ts';
import { resolveNames, type BusNames } from './names.ts';

export interface ProvisionSpec {
  /** name prefix (tests); default: the bus's own prefix */
  prefix?: string;
  /** dedup window of EVENTS, JOBS and DEAD; default 120000 ms */
  dedupWindowMs?: number;
  /** max age of PROGRESS messages; default 1 day */
  progressMaxAgeMs?: number;
  /** max age of EVENTS and DEAD messages; default 30 days (0 = forever) */
  eventsMaxAgeMs?: number;
  /** history per key in the KV buckets; default 5 */
  kvHistory?: number;
  /** 'file' (default) or 'memory' (tests that do not need durability) */
  storage?: 'file' | 'memory';
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The stream configurations provision() ensures, from the resolved names. */
export function streamConfigs(names: BusNames, spec: ProvisionSpec = {}): Partial<StreamConfig>[] {
  const dedup = nanos(spec.dedupWindowMs ?? 120_000);
  const storage = spec.storage === 'memory' ? StorageType.Memory : StorageType.File;
  const sp = names.subjectPrefix;
  const eventsAge = nanos(spec.eventsMaxAgeMs ?? 30 * DAY_MS);
  const base = { storage, num_replicas: 1, discard: DiscardPolicy.Old, duplicate_window: dedup };
  return [
    { ...base, name: names.streams.events, subjects: [`${sp}events.>`], retention: RetentionPolicy.Limits, max_age: eventsAge,
      description: 'tuneloop domain events' },
    { ...base, name: names.streams.jobs, subjects: [`${sp}jobs.>`], retention: RetentionPolicy.Workqueue, max_age: 0,
      description: 'tuneloop job queue (work-queue retention: a message is removed once acked)' },
    { ...base, name: names.streams.progress, subjects: [`${sp}progress.>`], retention: RetentionPolicy.Limits,
      max_age: nanos(spec.progressMaxAgeMs ?? DAY_MS), description: 'tuneloop job progress events (progress.<jobId>)' },
    { ...base, name: names.streams.dead, subjects: [`${sp}dead.>`], retention: RetentionPolicy.Limits, max_age: eventsAge,
      description: 'tuneloop dead letters (dead.<original subject>)' },
  ];
}

/** Creates or updates one stream; throws a clear error when a non-updatable field (retention, storage) differs. */
export async function ensureStream(bus: Bus, cfg: Partial<StreamConfig>): Promise<StreamInfo> {
  const name = cfg.name!;
  let current: StreamInfo | undefined;
  try {
    current = await bus.jsm.streams.info(name);
  } catch (err) {
    if (!isNotFound(err, JetStreamApiCodes.StreamNotFound)) throw err;
  }
  if (!current) {
    try {
      return await bus.jsm.streams.add({ ...cfg, name });
    } catch (err) {
      // a concurrent provision() created it first: fall through to the update path
      if (!(err instanceof JetStreamApiError)) throw err;
      current = await bus.jsm.streams.info(name);
    }
  }
  for (const key of ['retention', 'storage'] as const) {
    if (cfg[key] !== undefined && current.config[key] !== cfg[key]) {
      throw new Error(`stream ${name}: ${key} is ${current.config[key]} on the server, provision wants ${cfg[key]}; ` +
        'it cannot be changed in place (delete the stream to recreate it)');
    }
  }
  const { name: _n, retention: _r, storage: _s, ...updatable } = cfg;
  const differs = Object.entries(updatable).some(([k, v]) => JSON.stringify(current.config[k as keyof StreamConfig]) !== JSON.stringify(v));
  if (!differs) return current;
  bus.logger.info({ stream: name }, 'nats: updating stream configuration');
  return bus.jsm.streams.update(name, { ...current.config, ...updatable });
}

/** Ensures every stream, KV bucket and object store; safe to run any number of times, concurrently too. */
export async function provision(bus: Bus, spec: ProvisionSpec = {}): Promise<BusNames> {
  const names = spec.prefix === undefined ? bus.names : resolveNames(spec.prefix);
  for (const cfg of streamConfigs(names, spec)) await ensureStream(bus, cfg);
  const kvm = new Kvm(bus.js);
  const storage = spec.storage === 'memory' ? StorageType.Memory : StorageType.File;
  const history = spec.kvHistory ?? 5;
  await kvm.create(names.kv.jobs, { history, storage, description: 'tuneloop job records' });
  await kvm.create(names.kv.rounds, { history, storage, description: 'tuneloop alignment rounds' });
  await new Objm(bus.js).create(names.objects.blobs, { storage, description: 'tuneloop blobs (models, adapters, datasets)' });
  return names;
}

/** Deletes everything provision() made for a prefix (tests). Refuses the empty production prefix unless forced. */
export async function deprovision(bus: Bus, spec: { prefix?: string; force?: boolean } = {}): Promise<void> {
  const names = spec.prefix === undefined ? bus.names : resolveNames(spec.prefix);
  if (names.prefix === '' && !spec.force) {
    throw new Error('prefix: deprovision of the unprefixed (production) names needs { force: true }');
  }
  const streams = [...Object.values(names.streams), `KV_${names.kv.jobs}`, `KV_${names.kv.rounds}`, `OBJ_${names.objects.blobs}`];
  for (const s of streams) {
    try {
      await bus.jsm.streams.delete(s);
    } catch (err) {
      if (!isNotFound(err, JetStreamApiCodes.StreamNotFound)) throw err;
    }
  }
}

function isNotFound(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}
