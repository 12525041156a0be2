// Worker-thread bootstrap: registers tsx's loader in this thread, then runs quantize-worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./quantize-worker.ts');
