// GET: list accounts; POST {email, password, role}: create one (admin only).
import { createUser, listUsers } from '../../../src/server/accounts.ts';
import { readJson, withSession } from '../../../src/server/http.ts';

export async function GET(req: Request): Promise<Response> {
  return withSession(req, 'admin', async ({ ctx }) => ({ users: await listUsers(ctx.store.db) }));
}

export async function POST(req: Request): Promise<Response> {
  return withSession(req, 'admin', async ({ ctx }) => {
    const b = await readJson(req);
    return { user: await createUser(ctx.store.db, b.email, b.password, b.role ?? 'annotator') };
  });
}
