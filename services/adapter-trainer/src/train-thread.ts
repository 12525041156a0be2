// The SFT job's thread module (run by @tuneloop/jobs in a worker_thread): trainJob with its messages
// translated into the jobs protocol (step metrics by HF trainer names).
import type { JobThreadInput, JobThreadPost } from '@tuneloop/jobs';
import type { SftJobSpec } from './job-spec.ts';
import { trainJob, type ThreadMessage } from './train-job.ts';

export default async function runSftJob(input: JobThreadInput<SftJobSpec>, post: JobThreadPost): Promise<void> {
  await trainJob({ jobId: input.jobId, home: input.home, spec: input.spec }, (m: ThreadMessage) => {
    if (m.type === 'ready') {
      const metrics: Record<string, number> = { trainable_params: m.trainable, all_params: m.total, train_rows: m.trainRows, eval_rows: m.evalRows };
      if (m.evalLoss !== undefined) metrics.eval_loss = m.evalLoss;
      post({ type: 'ready', totalSteps: m.totalSteps, resumedFrom: m.resumedFrom, metrics });
    } else if (m.type === 'step') {
      const r = m.report;
      const metrics: Record<string, number> = { grad_norm: r.gradNorm, tokens_per_second: r.seconds > 0 ? r.tokens / r.seconds : 0 };
      if (r.evalLoss !== undefined) metrics.eval_loss = r.evalLoss;
      post({ type: 'step', step: r.step, totalSteps: r.totalSteps, loss: r.loss, lr: r.lr, metrics });
    } else if (m.type === 'checkpoint') {
      post(m);
    } else if (m.type === 'done') {
      const metrics: Record<string, number> = { final_loss: m.finalLoss, steps: m.steps };
      if (m.evalLoss !== undefined) metrics.eval_loss = m.evalLoss;
      post({ type: 'done', outputDir: m.adapterDir, metrics });
    } else {
      post(m);
    }
  });
}
