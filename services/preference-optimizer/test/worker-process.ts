// A stand-alone optimizer worker process for the kill-and-resume test: config from TUNELOOP_*, the two workers on
// the work queues, prints READY once consuming. The test SIGKILLs it mid-job.
import { connectBus } from '@tuneloop/bus';
import { createLogger, loadConfig } from '@tuneloop/service-kit';
import { startOptimizerWorkers } from '../src/service.ts';

const config = loadConfig();
const logger = createLogger({ name: 'optimizer-worker', level: config.logLevel });
const bus = await connectBus({ url: config.natsUrl, name: 'optimizer-worker', prefix: config.natsPrefix });
const storeAddr = process.env.TUNELOOP_MODEL_STORE_ADDR;
if (!storeAddr) throw new Error('TUNELOOP_MODEL_STORE_ADDR: the test passes the model store address');
await startOptimizerWorkers(bus, { home: config.home, logger, ackWaitMs: Number(process.env.TUNELOOP_OPTIMIZER_ACK_WAIT_MS ?? 2000), storeTarget: () => storeAddr, families: ['preference'] });
process.stdout.write('READY\n');
