// Admin home: projects with progress, import, export links, next round; new project; new account.
import { requirePageSession } from '../../src/server/page-session.ts';
import { getContext } from '../../src/server/context.ts';
import { listProjects } from '../../src/server/projects.ts';
import { projectSummary } from '../../src/server/progress.ts';
import { TopBar } from '../../src/components/top-bar.tsx';
import { Forbidden } from '../../src/components/forbidden.tsx';
import { CreateProjectForm, CreateUserForm, ImportForm, NextRoundButton } from '../../src/components/admin-forms.tsx';
import { ProgressChart } from '../../src/components/charts.tsx';

export const dynamic = 'force-dynamic';

export default async function Admin() {
  const session = await requirePageSession();
  if (session.user.role !== 'admin') return <Forbidden session={session} />;
  const db = (await getContext()).store.db;
  const projects = await listProjects(db);
  const summaries = await Promise.all(projects.map((p) => projectSummary(db, p.id, p.annotatorsPerItem)));
  return (
    <>
      <TopBar session={session} />
      <main className="page">
        <h1>Admin</h1>
        {projects.length > 0 && (
          <ProgressChart title="Comparisons complete per project" rows={projects.map((p, i) => ({ label: p.name.slice(0, 12), done: summaries[i].completed, started: summaries[i].completed, total: summaries[i].comparisons }))} />
        )}
        <div className="project-cards">
          {projects.map((p, i) => {
            const s = summaries[i];
            return (
              <section key={p.id} className="card project" aria-labelledby={`p-${p.id}`} data-testid="project-card">
                <h2 id={`p-${p.id}`}>{p.name}</h2>
                <p className="muted">K = {p.k} · {p.annotatorsPerItem} annotator(s) per comparison · round {p.currentRound}</p>
                <p>{s.completed}/{s.comparisons} comparisons complete · {s.rankings} rankings · {s.pairs} pairs · {s.pendingEvents} events waiting for NATS</p>
                <p className="links">
                  <a href={`/admin/projects/${p.id}`}>Dashboard</a>
                  <a href={`/annotate/${p.id}`}>Annotate</a>
                  <a href={`/api/projects/${p.id}/export?format=jsonl`}>Export TRL JSONL</a>
                  <a href={`/api/projects/${p.id}/export?format=csv`}>Export CSV</a>
                  <NextRoundButton csrfToken={session.csrfToken} projectId={p.id} />
                </p>
                <form method="get" action={`/api/projects/${p.id}/export`} className="export-form" aria-label={`Export pairs of ${p.name}`}>
                  <label htmlFor={`fmt-${p.id}`}>Export</label>
                  <select id={`fmt-${p.id}`} name="format" defaultValue="jsonl"><option value="jsonl">TRL JSONL</option><option value="csv">CSV</option></select>
                  <label htmlFor={`round-${p.id}`}>round</label>
                  <input id={`round-${p.id}`} name="round" type="number" min={1} placeholder="all" />
                  <label htmlFor={`agree-${p.id}`}>min. agreement</label>
                  <input id={`agree-${p.id}`} name="minAgreement" type="number" min={0} max={1} step={0.05} placeholder="0..1" />
                  <button type="submit">Download</button>
                </form>
                <ImportForm csrfToken={session.csrfToken} projectId={p.id} projectName={p.name} />
              </section>
            );
          })}
        </div>
        <div className="row">
          <CreateProjectForm csrfToken={session.csrfToken} />
          <CreateUserForm csrfToken={session.csrfToken} />
        </div>
      </main>
    </>
  );
}
