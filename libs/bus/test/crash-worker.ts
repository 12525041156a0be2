// Child process for the work-queue crash test: takes one job, reports it on stdout, then SIGKILLs itself before ack.
import { connectBus } from '../src/connect.ts';
import { workQueue } from '../src/work-queue.ts';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = process.env.BUS_PREFIX ?? '';
const durable = process.env.BUS_DURABLE ?? 'crash';
const bus = await connectBus({ url, name: 'crash-worker', prefix });
await workQueue(bus, {
  durable,
  filterSubject: 'jobs.train.sft',
  maxDeliver: 5,
  ackWaitMs: 1000,
  concurrency: 1,
  handler: async (job, ctx) => {
    process.stdout.write(`GOT ${job.jobId} ${ctx.deliveryCount}\n`);
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => undefined);
  },
});
process.stdout.write('READY\n');
