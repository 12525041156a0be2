// Project dashboard: progress per round, throughput and time per item per annotator, agreement
// (Krippendorff's ordinal alpha, pairwise percent agreement, agreement with the majority).
import { notFound } from 'next/navigation';
import { requirePageSession } from '../../../../src/server/page-session.ts';
import { getContext } from '../../../../src/server/context.ts';
import { getProject } from '../../../../src/server/projects.ts';
import { projectDashboard } from '../../../../src/server/dashboard.ts';
import { isAppError } from '../../../../src/server/errors.ts';
import { TopBar } from '../../../../src/components/top-bar.tsx';
import { Forbidden } from '../../../../src/components/forbidden.tsx';
import { BarChart, Histogram, ProgressChart } from '../../../../src/components/charts.tsx';

export const dynamic = 'force-dynamic';

const fmt = (x: number | null, digits = 3) => (x === null ? 'n/a' : x.toFixed(digits));

export default async function Dashboard({ params }: { params: Promise<{ id: string }> }) {
  const session = await requirePageSession();
  if (session.user.role !== 'admin') return <Forbidden session={session} />;
  const db = (await getContext()).store.db;
  const project = await getProject(db, (await params).id).catch((err) => {
    if (isAppError(err) && err.code === 'NOT_FOUND') notFound();
    throw err;
  });
  const d = await projectDashboard(db, project.id);
  return (
    <>
      <TopBar session={session} />
      <main className="page dashboard">
        <h1>{project.name}: dashboard</h1>
        <div className="stats">
          <div className="stat"><span className="stat-v" data-testid="alpha">{fmt(d.alpha)}</span><span className="stat-l">Krippendorff&apos;s α (ordinal, rankings)</span></div>
          <div className="stat"><span className="stat-v">{d.pairwiseAgreement === null ? 'n/a' : `${(100 * d.pairwiseAgreement).toFixed(1)}%`}</span><span className="stat-l">pairwise agreement ({d.comparedPairs} annotator pairs)</span></div>
          <div className="stat"><span className="stat-v">{d.rounds.reduce((s, r) => s + r.rankings, 0)}</span><span className="stat-l">rankings</span></div>
          <div className="stat"><span className="stat-v">{d.rounds.reduce((s, r) => s + r.pairs, 0)}</span><span className="stat-l">preference pairs</span></div>
        </div>
        <div className="charts">
          <ProgressChart title="Progress per round (comparisons ranked by every annotator)" rows={d.rounds.map((r) => ({ label: `round ${r.round}`, done: r.completed, started: r.completed, total: r.comparisons }))} />
          <BarChart title="Rankings per annotator" bars={d.annotators.map((a) => ({ label: a.email, value: a.rankings }))} />
          <BarChart title="Median time per item (s)" bars={d.annotators.map((a) => ({ label: a.email, value: (a.medianMs ?? 0) / 1000, display: a.medianMs === null ? 'n/a' : (a.medianMs / 1000).toFixed(1) }))} />
          <BarChart title="Agreement with the majority of the others" max={1} bars={d.annotators.map((a) => ({ label: a.email, value: a.majorityAgreement ?? 0, display: a.majorityAgreement === null ? 'n/a' : `${(100 * a.majorityAgreement).toFixed(0)}%` }))} />
          <Histogram title="Time per item" bins={d.timeHistogram.map((b) => ({ label: Number.isFinite(b.leS) ? `≤${b.leS}s` : '>300s', count: b.count }))} />
        </div>
        <table>
          <caption>Annotators</caption>
          <thead><tr><th scope="col">Annotator</th><th scope="col">Rankings</th><th scope="col">Last hour</th><th scope="col">Per hour (24 h)</th><th scope="col">Median s</th><th scope="col">p90 s</th><th scope="col">Majority agreement</th><th scope="col">Skipped</th></tr></thead>
          <tbody>
            {d.annotators.map((a) => (
              <tr key={a.userId}><td>{a.email}</td><td>{a.rankings}</td><td>{a.lastHour}</td><td>{a.perHour24h.toFixed(2)}</td><td>{a.medianMs === null ? 'n/a' : (a.medianMs / 1000).toFixed(1)}</td><td>{a.p90Ms === null ? 'n/a' : (a.p90Ms / 1000).toFixed(1)}</td><td>{a.majorityAgreement === null ? 'n/a' : `${(100 * a.majorityAgreement).toFixed(0)}%`}</td><td>{a.skipped}</td></tr>
            ))}
          </tbody>
        </table>
        <section className="card comments" aria-labelledby="comments-h">
          <h2 id="comments-h">Recent comments</h2>
          {d.recentComments.length === 0 ? <p>No comments yet.</p> : (
            <ul>{d.recentComments.map((c, i) => <li key={i} data-testid="comment"><strong>{c.email}</strong>: {c.comment}</li>)}</ul>
          )}
        </section>
      </main>
    </>
  );
}
