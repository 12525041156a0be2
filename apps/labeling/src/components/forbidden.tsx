// Shown instead of an admin page to a signed-in user without the admin role.
import type { Session } from '../server/accounts.ts';
import { TopBar } from './top-bar.tsx';

export function Forbidden({ session }: { session: Session }) {
  return (
    <>
      <TopBar session={session} />
      <main className="page"><h1>Forbidden</h1><p role="alert">This page needs the admin role.</p></main>
    </>
  );
}
