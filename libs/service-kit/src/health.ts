// grpc.health.v1 Health service (https://github.com/grpc/grpc/blob/master/doc/health-checking.md):
// Check, List and Watch over a per-service status table; '' is the whole server.
import {
  status as grpcStatus,
  type ServerWritableStream,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthListRequest,
  type HealthListResponse,
  type HealthServer,
} from '@tuneloop/proto';

export { HealthCheckResponse_ServingStatus as ServingStatus } from '@tuneloop/proto';

export class HealthRegistry {
  private readonly statuses = new Map<string, ServingStatus>([['', ServingStatus.NOT_SERVING]]);
  private readonly watchers = new Set<{
    service: string;
    send: (s: ServingStatus) => void;
    end: () => void;
  }>();

  set(service: string, s: ServingStatus): void {
    if (this.statuses.get(service) === s) return;
    this.statuses.set(service, s);
    for (const w of this.watchers) if (w.service === service) w.send(s);
  }

  /** Every known service (and '') to `s`, e.g. NOT_SERVING when shutdown begins. */
  setAll(s: ServingStatus): void {
    for (const service of [...this.statuses.keys()]) this.set(service, s);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Ends every Watch stream (shutdown). */
  endWatches(): void {
    for (const w of [...this.watchers]) w.end();
  }

  implementation(): HealthServer {
    return {
      check: (
        call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
        callback: sendUnaryData<HealthCheckResponse>,
      ) => {
        const s = this.statuses.get(call.request.service);
        if (s === undefined) {
          callback({
            code: grpcStatus.NOT_FOUND,
            details: `unknown service ${JSON.stringify(call.request.service)}`,
          });
          return;
        }
        callback(null, { status: s });
      },
      list: (
        _call: ServerUnaryCall<HealthListRequest, HealthListResponse>,
        callback: sendUnaryData<HealthListResponse>,
      ) => {
        callback(null, {
          statuses: Object.fromEntries([...this.statuses].map(([k, v]) => [k, { status: v }])),
        });
      },
      watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        const service = call.request.service;
        const w = {
          service,
          send: (s: ServingStatus) => call.write({ status: s }),
          end: () => {
            this.watchers.delete(w);
            call.end();
          },
        };
        this.watchers.add(w);
        call.on('cancelled', () => this.watchers.delete(w));
        w.send(this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN);
      },
    };
  }
}
