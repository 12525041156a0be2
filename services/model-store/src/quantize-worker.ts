// Worker-thread entry of QuantizeModel: receives a QuantizeJob, answers { result } or { error }, so
// quantizing a model never blocks the service's event loop (health checks, other RPCs).
import { parentPort } from 'node:worker_threads';
import { computeQuantized, type QuantizeJob } from './quantize-compute.ts';

parentPort!.once('message', (job: QuantizeJob) => {
  computeQuantized(job).then(
    (result) => parentPort!.postMessage({ result }, [result.weights.buffer as ArrayBuffer, result.config.buffer as ArrayBuffer]),
    (err: Error & { field?: string; problem?: string }) =>
      parentPort!.postMessage({ error: { name: err.name, message: err.message, field: err.field, problem: err.problem } }),
  );
});
