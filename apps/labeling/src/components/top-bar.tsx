// Top navigation bar (server component) with the user's e-mail, role links and sign-out.
import type { Session } from '../server/accounts.ts';
import { SignOutButton } from './admin-forms.tsx';

export function TopBar({ session }: { session: Session }) {
  return (
    <nav className="topbar" aria-label="Main">
      <a href="/" className="brand">tuneloop labeling</a>
      <a href="/annotate">Annotate</a>
      {session.user.role === 'admin' && <a href="/admin">Admin</a>}
      <span className="spacer" />
      <span className="who">{session.user.email} ({session.user.role})</span>
      <SignOutButton csrfToken={session.csrfToken} />
    </nav>
  );
}
