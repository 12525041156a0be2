// Prometheus metrics (prom-client): gRPC request counts, latencies and in-flight requests, jobs in
// flight per service, process metrics; served as text on http://<host>:<port>/metrics.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'tuneloop_grpc_requests_total',
    help: 'gRPC requests handled, by final status code',
    labelNames: ['service', 'method', 'code'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'tuneloop_grpc_request_duration_seconds',
    help: 'gRPC request latency (streams: until the stream ends)',
    labelNames: ['service', 'method'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [this.registry],
  });
  readonly inFlightRequests = new Gauge({
    name: 'tuneloop_grpc_in_flight_requests',
    help: 'gRPC requests being handled now',
    labelNames: ['service', 'method'] as const,
    registers: [this.registry],
  });
  /** services inc/dec this around each job (training, generation) they run */
  readonly inFlightJobs = new Gauge({
    name: 'tuneloop_jobs_in_flight',
    help: 'jobs (training, optimisation, generation) running now',
    labelNames: ['service', 'kind'] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'tuneloop_' });
  }
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` from `metrics.registry` on host:port (0: any free port). */
export async function startMetricsServer(
  metrics: Metrics,
  host: string,
  port: number,
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: Error) =>
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
