// Handler wrappers for grpc-js: typed async handlers per method kind (unary, client/server/bidi
// streaming) with request ids, deadlines and cancellation as an AbortSignal, metrics, logs, and
// every error mapped by toGrpcStatus. Methods without a handler answer UNIMPLEMENTED.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import {
  Metadata,
  status,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type StatusObject,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { UnimplementedError, toGrpcStatus } from './errors.ts';
import type { Metrics } from './metrics.ts';

/** What a handler knows about its call. */
export interface CallContext {
  requestId: string;
  /** '/tuneloop.v1.RolloutService/Generate' */
  path: string;
  logger: Logger;
  /** aborted when the client cancels, the deadline passes, or (response streams) the server shuts down */
  signal: AbortSignal;
  deadline?: Date;
  metadata: Metadata;
}

type MethodShape = {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestDeserialize: (b: Buffer) => unknown;
  responseSerialize: (v: never) => Buffer;
};
type ReqOf<M> = M extends { requestDeserialize: (b: Buffer) => infer R } ? R : never;
type ResOf<M> = M extends { responseSerialize: (v: infer R) => Buffer } ? R : never;

/** The handler type of one method, by its streaming kind. */
export type Handler<M> = M extends { requestStream: true; responseStream: true }
  ? (requests: AsyncIterable<ReqOf<M>>, ctx: CallContext) => AsyncIterable<ResOf<M>>
  : M extends { requestStream: true }
    ? (requests: AsyncIterable<ReqOf<M>>, ctx: CallContext) => Promise<ResOf<M>>
    : M extends { responseStream: true }
      ? (request: ReqOf<M>, ctx: CallContext) => AsyncIterable<ResOf<M>>
      : (request: ReqOf<M>, ctx: CallContext) => Promise<ResOf<M>>;

/** Handlers for some or all methods of a ts-proto service definition (keys are camelCase). */
export type Handlers<D> = { [K in keyof D]?: Handler<D[K]> };

/** Shared state of the server the handlers run in. */
export interface RpcRuntime {
  logger: Logger;
  metrics: Metrics;
  /** aborted when graceful shutdown begins: response streams end with UNAVAILABLE */
  shutdownSignal: AbortSignal;
}

export interface ImplementOptions {
  /** completes "X is not built yet: <unimplemented>", e.g. "issue 4 builds it" */
  unimplemented: string;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const QUIET = new Set([
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
]);

type AnyCall =
  | ServerUnaryCall<unknown, unknown>
  | ServerReadableStream<unknown, unknown>
  | ServerWritableStream<unknown, unknown>;

interface ActiveCall {
  ctx: CallContext;
  expired: boolean;
  abortStatus(): StatusObject;
  finish(code: status): void;
}

function begin(rt: RpcRuntime, path: string, call: AnyCall, streamsResponses: boolean): ActiveCall {
  const [, service = '', method = ''] = path.split('/');
  const given = call.metadata.get('x-request-id')[0];
  const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  const md = new Metadata();
  md.set('x-request-id', requestId);
  call.sendMetadata(md);
  const logger = rt.logger.child({ requestId, rpc: `${service}/${method}` });
  const controller = new AbortController();
  let reason: 'cancelled' | 'deadline' | 'shutdown' | undefined;
  const abort = (r: typeof reason) => {
    if (controller.signal.aborted) return;
    reason = r;
    controller.abort(new Error(r));
  };
  const raw = call.getDeadline();
  const deadlineMs = raw instanceof Date ? raw.getTime() : raw;
  const deadline = Number.isFinite(deadlineMs) ? new Date(deadlineMs) : undefined;
  const left = deadline ? deadline.getTime() - Date.now() : Infinity;
  const timer = Number.isFinite(left) && left > 0 ? setTimeout(() => abort('deadline'), left) : undefined;
  // the client's own deadline timer usually fires first (it sent a relative timeout): allow slack
  const DEADLINE_SLACK_MS = 500;
  (call as NodeJS.EventEmitter).on('cancelled', () =>
    abort(deadline && Date.now() >= deadline.getTime() - DEADLINE_SLACK_MS ? 'deadline' : 'cancelled'),
  );
  const onShutdown = () => abort('shutdown');
  if (streamsResponses) rt.shutdownSignal.addEventListener('abort', onShutdown, { once: true });
  const labels = { service, method };
  rt.metrics.inFlightRequests.inc(labels);
  const started = performance.now();
  let finished = false;
  return {
    ctx: { requestId, path, logger, signal: controller.signal, deadline, metadata: call.metadata },
    expired: left <= 0,
    abortStatus: () =>
      reason === 'shutdown'
        ? { code: status.UNAVAILABLE, details: 'server shutting down; retry', metadata: retryable() }
        : reason === 'deadline'
          ? { code: status.DEADLINE_EXCEEDED, details: 'deadline exceeded', metadata: new Metadata() }
          : { code: status.CANCELLED, details: 'cancelled by the client', metadata: new Metadata() },
    finish(code) {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      rt.shutdownSignal.removeEventListener('abort', onShutdown);
      const seconds = (performance.now() - started) / 1000;
      rt.metrics.inFlightRequests.dec(labels);
      rt.metrics.requests.inc({ ...labels, code: status[code] });
      rt.metrics.latency.observe(labels, seconds);
      const line = { code: status[code], ms: Math.round(seconds * 1000) };
      if (QUIET.has(service)) logger.debug(line, 'rpc');
      else logger.info(line, 'rpc');
    },
  };
}

function retryable(): Metadata {
  const md = new Metadata();
  md.set('retryable', 'true');
  return md;
}

function errorStatus(rt: RpcRuntime, a: ActiveCall, err: unknown): StatusObject {
  if (a.ctx.signal.aborted) return a.abortStatus();
  return toGrpcStatus(err, a.ctx.logger, { requestId: a.ctx.requestId, rpc: a.ctx.path });
}

function unaryLike(
  rt: RpcRuntime,
  path: string,
  fn: (input: unknown, ctx: CallContext) => Promise<unknown>,
  streamIn: boolean,
) {
  return (
    call: ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown>,
    callback: sendUnaryData<unknown>,
  ) => {
    const a = begin(rt, path, call, false);
    let done = false;
    const reply = (err: StatusObject | null, res?: unknown) => {
      if (done) return;
      done = true;
      a.finish(err ? err.code : status.OK);
      if (err) callback(err);
      else callback(null, res);
    };
    if (a.expired) {
      reply({
        code: status.DEADLINE_EXCEEDED,
        details: 'deadline exceeded before the call started',
        metadata: new Metadata(),
      });
      return;
    }
    a.ctx.signal.addEventListener('abort', () => reply(a.abortStatus()));
    const input = streamIn
      ? (call as ServerReadableStream<unknown, unknown>)
      : (call as ServerUnaryCall<unknown, unknown>).request;
    Promise.resolve()
      .then(() => fn(input, a.ctx))
      .then(
        (res) => reply(null, res),
        (err: unknown) => reply(errorStatus(rt, a, err)),
      );
  };
}

function streamOut(
  rt: RpcRuntime,
  path: string,
  fn: (input: unknown, ctx: CallContext) => AsyncIterable<unknown>,
  streamIn: boolean,
) {
  return (call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>) => {
    const a = begin(rt, path, call, true);
    const fail = (s: StatusObject) => {
      a.finish(s.code);
      call.emit('error', s);
    };
    if (a.expired) {
      fail({
        code: status.DEADLINE_EXCEEDED,
        details: 'deadline exceeded before the call started',
        metadata: new Metadata(),
      });
      return;
    }
    const input = streamIn ? call : (call as ServerWritableStream<unknown, unknown>).request;
    const aborted = new Promise<'aborted'>((resolve) =>
      a.ctx.signal.addEventListener('abort', () => resolve('aborted')),
    );
    (async () => {
      for await (const msg of fn(input, a.ctx)) {
        if (a.ctx.signal.aborted) break;
        if (!call.write(msg) && (await Promise.race([once(call, 'drain'), aborted])) === 'aborted') break;
      }
    })().then(
      () => {
        if (a.ctx.signal.aborted) fail(a.abortStatus());
        else {
          a.finish(status.OK);
          call.end();
        }
      },
      (err: unknown) => fail(errorStatus(rt, a, err)),
    );
  };
}

/** The grpc-js implementation of `definition` from typed handlers; missing methods are UNIMPLEMENTED. */
export function implement<D extends object>(
  rt: RpcRuntime,
  definition: D,
  handlers: Handlers<D>,
  opts: ImplementOptions,
): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {};
  for (const [key, m] of Object.entries(definition) as [string, MethodShape][]) {
    const given = (handlers as Record<string, unknown>)[key] as
      ((input: unknown, ctx: CallContext) => never) | undefined;
    const missing = () =>
      new UnimplementedError(`${m.path.slice(1)} is not built yet: ${opts.unimplemented}`);
    if (m.responseStream) {
      const fn =
        given ??
        ((): AsyncIterable<unknown> => ({
          [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(missing()) }),
        }));
      impl[key] = streamOut(rt, m.path, fn, m.requestStream) as never;
    } else {
      const fn = given ?? (() => Promise.reject(missing()));
      impl[key] = unaryLike(rt, m.path, fn, m.requestStream) as never;
    }
  }
  return impl;
}
