// POST: skip a leased item (it goes back to the pool for others).
import { skipItem } from '../../../../../src/server/assignment.ts';
import { withSession } from '../../../../../src/server/http.ts';

export async function POST(req: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  return withSession(req, 'annotator', async ({ ctx, session }) => {
    await skipItem(ctx.store.db, session.user.id, (await params).id);
    return { ok: true };
  });
}
