// POST: the annotator's current item or a newly leased one (a mutation: it claims a lease).
import { nextItem } from '../../../../../src/server/assignment.ts';
import { annotatorProgress } from '../../../../../src/server/progress.ts';
import { withSession } from '../../../../../src/server/http.ts';

export async function POST(req: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  return withSession(req, 'annotator', async ({ ctx, session }) => {
    const projectId = (await params).id;
    const item = await nextItem(ctx.store.db, session.user.id, projectId, ctx.config.leaseMs);
    return { item, progress: await annotatorProgress(ctx.store.db, session.user.id, projectId) };
  });
}
