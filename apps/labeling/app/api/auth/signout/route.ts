// POST: end the session.
import { cookieHeader, readCookie, SESSION_COOKIE, withSession } from '../../../../src/server/http.ts';

export async function POST(req: Request): Promise<Response> {
  return withSession(req, 'annotator', async ({ ctx }) => {
    await ctx.auth.signOut(readCookie(req, SESSION_COOKIE));
    return Response.json({ ok: true }, { headers: { 'set-cookie': cookieHeader(req, SESSION_COOKIE, '', 0) } });
  });
}
