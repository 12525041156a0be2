// A stand-alone SFT worker process for the kill-and-resume test: config from TUNELOOP_*, one worker on the
// work queue, prints READY once consuming. The test SIGKILLs it mid-job.
import { connectBus } from '@tuneloop/bus';
import { createLogger, loadConfig } from '@tuneloop/service-kit';
import { startSftWorker } from '../src/worker.ts';

const config = loadConfig();
const logger = createLogger({ name: 'sft-worker', level: config.logLevel });
const bus = await connectBus({ url: config.natsUrl, name: 'sft-worker', prefix: config.natsPrefix });
const storeAddr = process.env.TUNELOOP_MODEL_STORE_ADDR;
if (!storeAddr) throw new Error('TUNELOOP_MODEL_STORE_ADDR: the test passes the model store address');
await startSftWorker(bus, { home: config.home, logger, ackWaitMs: Number(process.env.TUNELOOP_TRAINER_ACK_WAIT_MS ?? 2000), storeTarget: () => storeAddr });
process.stdout.write('READY\n');
