// Typed KV buckets over NATS JetStream KV: zod-validated get/put/watch, create-if-absent and CAS updates by revision.
import { z } from 'zod';
import { JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, KvWatchInclude } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { Bus } from './connect.ts';
import { encodeJson } from './publish.ts';

export interface Versioned<T> {
  key: string;
  value: T;
  revision: number;
  updatedAt: Date;
}

export type KvChange<T> =
  | { op: 'put'; key: string; value: T; revision: number; updatedAt: Date }
  | { op: 'delete'; key: string; revision: number; updatedAt: Date };

/** A CAS update lost the race (expected revision no longer current) or create found the key present. */
export class KvConflictError extends Error {
  override readonly name = 'KvConflictError';
  readonly code = 'ABORTED';
  readonly retryable = true;
  constructor(readonly bucket: string, readonly key: string, detail: string, opts?: { cause?: unknown }) {
    super(`${bucket}/${key}: ${detail}`, opts);
  }
}

export interface TypedKv<T> {
  readonly bucket: string;
  readonly kv: KV;
  get(key: string): Promise<Versioned<T> | null>;
  /** unconditional write; returns the new revision */
  put(key: string, value: T): Promise<number>;
  /** writes only if the key does not exist (or was deleted); KvConflictError otherwise */
  create(key: string, value: T): Promise<number>;
  /** writes only if `revision` is still the key's latest (CAS); KvConflictError otherwise */
  update(key: string, value: T, revision: number): Promise<number>;
  /** read-modify-write with CAS, retried on conflict; `fn` gets null when the key is absent */
  modify(key: string, fn: (current: T | null) => T, opts?: { retries?: number }): Promise<Versioned<T>>;
  delete(key: string): Promise<void>;
  keys(): Promise<string[]>;
  /** current values (unless updatesOnly) then live changes; ends when `signal` aborts or the loop breaks */
  watch(opts?: { key?: string; updatesOnly?: boolean; signal?: AbortSignal }): AsyncIterable<KvChange<T>>;
}

const KEY_RE = /^[-/_=.a-zA-Z0-9]+$/;

export function checkKey(key: string): void {
  if (typeof key !== 'string' || !KEY_RE.test(key) || key.startsWith('.') || key.endsWith('.')) {
    throw new Error(`key: must match ${KEY_RE} and not start or end with '.', got ${JSON.stringify(key)}`);
  }
}

function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === 10071 || /wrong last sequence/i.test(err.message));
}

/** Opens an existing (provisioned) bucket with values validated by `schema` on every read and write. */
export async function typedKv<S extends z.ZodTypeAny>(bus: Bus, bucket: string, schema: S): Promise<TypedKv<z.output<S>>> {
  type T = z.output<S>;
  const kv = await new Kvm(bus.js).open(bucket);
  const parse = (key: string, raw: unknown, where: string): T => {
    const r = schema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new Error(`${bucket}/${key}: ${where} ${i.path.join('.') || '(value)'}: ${i.message}`);
    }
    return r.data;
  };
  const encode = (key: string, value: T) => {
    checkKey(key);
    return encodeJson(parse(key, value, 'invalid value:'));
  };
  const self: TypedKv<T> = {
    bucket,
    kv,
    async get(key) {
      checkKey(key);
      const e = await kv.get(key);
      if (!e || e.operation !== 'PUT') return null;
      return { key, value: parse(key, e.json(), 'stored value invalid:'), revision: e.revision, updatedAt: e.created };
    },
    async put(key, value) {
      return kv.put(key, encode(key, value));
    },
    async create(key, value) {
      try {
        return await kv.create(key, encode(key, value));
      } catch (err) {
        if (isWrongLastSequence(err) || /exists/i.test((err as Error).message)) {
          throw new KvConflictError(bucket, key, 'already exists', { cause: err });
        }
        throw err;
      }
    },
    async update(key, value, revision) {
      try {
        return await kv.update(key, encode(key, value), revision);
      } catch (err) {
        if (isWrongLastSequence(err)) throw new KvConflictError(bucket, key, `revision ${revision} is no longer current`, { cause: err });
        throw err;
      }
    },
    async modify(key, fn, opts = {}) {
      const retries = opts.retries ?? 10;
      for (let attempt = 0; ; attempt++) {
        const cur = await self.get(key);
        const next = fn(cur ? cur.value : null);
        try {
          const revision = cur ? await self.update(key, next, cur.revision) : await self.create(key, next);
          return { key, value: parse(key, next, 'invalid value:'), revision, updatedAt: new Date() };
        } catch (err) {
          if (!(err instanceof KvConflictError) || attempt >= retries) throw err;
        }
      }
    },
    async delete(key) {
      checkKey(key);
      await kv.delete(key);
    },
    async keys() {
      const out: string[] = [];
      for await (const k of await kv.keys()) out.push(k);
      return out;
    },
    watch(opts = {}) {
      if (opts.key !== undefined) checkKey(opts.key.replace(/[*>]/g, 'x'));
      return {
        async *[Symbol.asyncIterator]() {
          const it = await kv.watch({
            ...(opts.key ? { key: opts.key } : {}),
            include: opts.updatesOnly ? KvWatchInclude.UpdatesOnly : KvWatchInclude.LastValue,
          });
          const onAbort = () => it.stop();
          opts.signal?.addEventListener('abort', onAbort, { once: true });
          try {
            if (opts.signal?.aborted) return;
            for await (const e of it) {
              if (e.operation === 'PUT') {
                yield { op: 'put', key: e.key, value: parse(e.key, e.json(), 'stored value invalid:'), revision: e.revision, updatedAt: e.created };
              } else {
                yield { op: 'delete', key: e.key, revision: e.revision, updatedAt: e.created };
              }
            }
          } finally {
            opts.signal?.removeEventListener('abort', onAbort);
            it.stop();
          }
        },
      };
    },
  };
  return self;
}
