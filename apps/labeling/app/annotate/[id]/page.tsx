// The ranking screen of one project (server-side session check; the screen itself is a client component).
import { notFound } from 'next/navigation';
import { requirePageSession } from '../../../src/server/page-session.ts';
import { getContext } from '../../../src/server/context.ts';
import { getProject } from '../../../src/server/projects.ts';
import { isAppError } from '../../../src/server/errors.ts';
import { TopBar } from '../../../src/components/top-bar.tsx';
import { RankingScreen } from '../../../src/components/ranking-screen.tsx';

export const dynamic = 'force-dynamic';

export default async function Rank({ params }: { params: Promise<{ id: string }> }) {
  const session = await requirePageSession();
  const project = await getProject((await getContext()).store.db, (await params).id).catch((err) => {
    if (isAppError(err) && err.code === 'NOT_FOUND') notFound();
    throw err;
  });
  return (
    <>
      <TopBar session={session} />
      <main>
        <RankingScreen projectId={project.id} projectName={project.name} guidelines={project.guidelines} k={project.k} csrfToken={session.csrfToken} />
      </main>
    </>
  );
}
