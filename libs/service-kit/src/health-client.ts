// Client side of grpc.health.v1 for probes (`tuneloop doctor`, tests): SERVING / NOT_SERVING /
// UNREACHABLE per service at a target, using the generated HealthClient.
import { Metadata, credentials, status } from '@grpc/grpc-js';
import { HealthClient, HealthCheckResponse_ServingStatus as ServingStatus } from '@tuneloop/proto';

export type ProbeResult = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' | 'UNREACHABLE';

/** Checks each fully-qualified service name at `target`; never throws. */
export async function probeHealth(
  target: string,
  services: string[],
  timeoutMs = 2000,
): Promise<Record<string, ProbeResult>> {
  const client = new HealthClient(target, credentials.createInsecure());
  try {
    const results = await Promise.all(
      services.map(
        (service) =>
          new Promise<ProbeResult>((resolve) => {
            client.check({ service }, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
              if (err) resolve(err.code === status.NOT_FOUND ? 'SERVICE_UNKNOWN' : 'UNREACHABLE');
              else resolve(res.status === ServingStatus.SERVING ? 'SERVING' : 'NOT_SERVING');
            });
          }),
      ),
    );
    return Object.fromEntries(services.map((s, i) => [s, results[i]]));
  } finally {
    client.close();
  }
}
