// POST: undo the annotator's last ranking in this project (within the undo grace window).
import { undoLastRanking } from '../../../../../src/server/submissions.ts';
import { withSession } from '../../../../../src/server/http.ts';

export async function POST(req: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  return withSession(req, 'annotator', async ({ ctx, session }) =>
    undoLastRanking(ctx.store.db, session.user.id, (await params).id, { undoGraceMs: ctx.config.undoGraceMs, leaseMs: ctx.config.leaseMs }));
}
