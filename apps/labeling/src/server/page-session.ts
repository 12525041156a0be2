// Server-side role check for pages (React Server Components): the session from the cookie, or a
// redirect to the sign-in page.
import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { getContext } from './context.ts';
import { SESSION_COOKIE } from './http.ts';
import type { Session } from './accounts.ts';

export async function pageSession(): Promise<Session | null> {
  const ctx = await getContext();
  return ctx.auth.lookup((await cookies()).get(SESSION_COOKIE)?.value);
}

export async function requirePageSession(): Promise<Session> {
  const s = await pageSession();
  if (!s) redirect('/signin');
  return s;
}
