// @tuneloop/service-kit: grpc-js bootstrap: config, health, reflection, logs, metrics, errors, shutdown.
export { loadConfig, grpcTarget, ConfigError, CONFIG_VARIABLES, LOG_LEVELS } from './config.ts';
export type { ServiceConfig, LogLevel } from './config.ts';
export { createLogger, redactString, redactValue } from './logger.ts';
export type { Logger, LoggerOptions } from './logger.ts';
export {
  TuneloopError,
  InvalidArgumentError,
  NotFoundError,
  AlreadyExistsError,
  FailedPreconditionError,
  ResourceExhaustedError,
  DataLossError,
  UnavailableError,
  DeadlineExceededError,
  UnimplementedError,
  InternalError,
  toGrpcStatus,
} from './errors.ts';
export type { TuneloopErrorOptions } from './errors.ts';
export { Metrics, startMetricsServer } from './metrics.ts';
export type { MetricsServer } from './metrics.ts';
export { HealthRegistry, ServingStatus } from './health.ts';
export { probeHealth } from './health-client.ts';
export type { ProbeResult } from './health-client.ts';
export { implement } from './handlers.ts';
export type { CallContext, Handler, Handlers, ImplementOptions, RpcRuntime } from './handlers.ts';
export { addReflection } from './reflection.ts';
export { ServiceHost } from './host.ts';
export type { ShutdownResult } from './host.ts';
export { startTestServices, unaryCall, errorOf, collectEvents, sleep, until, spawnUntilReady, killAfterCheckpoint } from './testing.ts';
export type { TestServices } from './testing.ts';
export { startServices, runMain, onShutdownSignal, loadConfigOrExit } from './bootstrap.ts';
export type { ServiceContext, ServiceModule, StartedService, RunningServices } from './bootstrap.ts';
