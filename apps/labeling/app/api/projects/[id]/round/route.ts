// POST: start the project's next round (admin).
import { startNextRound } from '../../../../../src/server/projects.ts';
import { withSession } from '../../../../../src/server/http.ts';

export async function POST(req: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  return withSession(req, 'admin', async ({ ctx }) => ({ project: await startNextRound(ctx.store.db, (await params).id) }));
}
