// Start page: sends a signed-in user to their workspace, others to sign-in.
import { redirect } from 'next/navigation';
import { pageSession } from '../src/server/page-session.ts';

export const dynamic = 'force-dynamic';

export default async function Home() {
  const s = await pageSession();
  redirect(!s ? '/signin' : s.user.role === 'admin' ? '/admin' : '/annotate');
}
