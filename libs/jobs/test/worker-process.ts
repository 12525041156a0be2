// A stand-alone toy job worker process for the kill-and-resume test: config from TUNELOOP_*, prints READY
// once consuming; the test SIGKILLs it mid-job.
import { connectBus } from '@tuneloop/bus';
import { createLogger, loadConfig } from '@tuneloop/service-kit';
import { startJobWorker } from '../src/index.ts';

const config = loadConfig();
const logger = createLogger({ name: 'toy-worker', level: config.logLevel });
const bus = await connectBus({ url: config.natsUrl, name: 'toy-worker', prefix: config.natsPrefix });
await startJobWorker(bus, {
  kind: 'train.sft',
  subject: 'jobs.train.sft',
  durable: 'toy-worker',
  home: config.home,
  logger,
  ackWaitMs: 2000,
  threadModule: new URL('./toy-thread.ts', import.meta.url),
  finish: async (done) => ({ result: { output: { name: 'toy', version: 'x' }, ...done.result }, message: 'toy stored' }),
});
process.stdout.write('READY\n');
