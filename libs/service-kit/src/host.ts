// ServiceHost: one grpc-js server that several tuneloop services register on, with health,
// reflection, message size limits from config and a graceful shutdown.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { HealthService } from '@tuneloop/proto';
import type { ServiceConfig } from './config.ts';
import { HealthRegistry, ServingStatus } from './health.ts';
import { implement, type Handlers, type ImplementOptions, type RpcRuntime } from './handlers.ts';
import type { Metrics } from './metrics.ts';
import { addReflection } from './reflection.ts';

export interface ShutdownResult {
  /** true when in-flight calls outlived the grace period and were cancelled */
  forced: boolean;
  ms: number;
}

export class ServiceHost {
  readonly server: Server;
  readonly health = new HealthRegistry();
  private readonly services: string[] = [];
  private readonly shutdownController = new AbortController();
  private readonly runtime: RpcRuntime;
  private boundPort: number | undefined;
  private shuttingDown: Promise<ShutdownResult> | undefined;

  constructor(
    private readonly config: ServiceConfig,
    private readonly logger: Logger,
    metrics: Metrics,
  ) {
    // The limit guards what clients send; what the server sends is bounded by each handler (chunk sizes),
    // and tying it to the receive limit broke reflection answers larger than a small receive limit.
    this.server = new Server({ 'grpc.max_receive_message_length': config.maxReceiveBytes });
    this.runtime = { logger, metrics, shutdownSignal: this.shutdownController.signal };
    this.server.addService(HealthService, this.health.implementation());
  }

  /** Registers a generated service (e.g. RolloutServiceService) with typed handlers. */
  register<D extends object>(definition: D, handlers: Handlers<D>, opts: ImplementOptions): void {
    if (this.boundPort !== undefined) throw new Error('register: the server is already listening');
    const first = Object.values(definition)[0] as { path: string } | undefined;
    if (!first) throw new Error('register: empty service definition');
    const name = first.path.split('/')[1];
    if (this.services.includes(name)) throw new Error(`register: ${name} is already registered`);
    this.server.addService(definition as never, implement(this.runtime, definition, handlers, opts));
    this.services.push(name);
    this.health.set(name, ServingStatus.NOT_SERVING);
  }

  get serviceNames(): readonly string[] {
    return this.services;
  }

  get port(): number {
    if (this.boundPort === undefined) throw new Error('port: the server is not listening yet');
    return this.boundPort;
  }

  /** Binds config.grpcHost:grpcPort, adds reflection, marks every service SERVING; returns the port. */
  async listen(): Promise<number> {
    addReflection(this.server, [...this.services, 'grpc.health.v1.Health']);
    const host = this.config.grpcHost.includes(':') ? `[${this.config.grpcHost}]` : this.config.grpcHost;
    this.boundPort = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(
        `${host}:${this.config.grpcPort}`,
        ServerCredentials.createInsecure(),
        (err, port) =>
          err
            ? reject(new Error(`grpc: cannot listen on ${host}:${this.config.grpcPort}: ${err.message}`))
            : resolve(port),
      ),
    );
    for (const s of this.services) this.health.set(s, ServingStatus.SERVING);
    this.health.set('', ServingStatus.SERVING);
    return this.boundPort;
  }

  /**
   * Graceful shutdown: health NOT_SERVING, stop accepting calls, end response streams with
   * UNAVAILABLE, let in-flight calls finish within `graceMs`, then cancel what is left.
   */
  shutdown(graceMs = this.config.shutdownGraceMs): Promise<ShutdownResult> {
    this.shuttingDown ??= new Promise<ShutdownResult>((resolve) => {
      const started = Date.now();
      this.health.setAll(ServingStatus.NOT_SERVING);
      this.health.endWatches();
      this.shutdownController.abort(new Error('shutdown'));
      let forced = false;
      const timer = setTimeout(() => {
        forced = true;
        this.logger.warn({ graceMs }, 'grace period over: cancelling in-flight calls');
        this.server.forceShutdown();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve({ forced, ms: Date.now() - started });
      });
    });
    return this.shuttingDown;
  }
}
