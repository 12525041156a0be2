// Annotator home: the projects to work on.
import { requirePageSession } from '../../src/server/page-session.ts';
import { getContext } from '../../src/server/context.ts';
import { listProjects } from '../../src/server/projects.ts';
import { TopBar } from '../../src/components/top-bar.tsx';

export const dynamic = 'force-dynamic';

export default async function Annotate() {
  const session = await requirePageSession();
  const projects = await listProjects((await getContext()).store.db);
  return (
    <>
      <TopBar session={session} />
      <main className="page">
        <h1>Projects</h1>
        {projects.length === 0 ? <p>No projects yet.</p> : (
          <ul className="project-list">
            {projects.map((p) => <li key={p.id}><a href={`/annotate/${p.id}`}>{p.name}</a> <span className="muted">K = {p.k}, round {p.currentRound}</span></li>)}
          </ul>
        )}
      </main>
    </>
  );
}
