'use client';
// Admin forms: create a project, import comparisons (JSONL file or pasted text), create an account,
// start the next round, sign out. Every request carries the session's CSRF token.
import { useState, type FormEvent } from 'react';
import { api, ApiError } from './api-client.ts';

function useResult() {
  const [msg, setMsg] = useState('');
  const [errors, setErrors] = useState<string[]>([]);
  const fail = (err: unknown) => { setMsg((err as Error).message); setErrors(err instanceof ApiError && err.errors ? err.errors : []); };
  return { msg, errors, setMsg, setErrors, fail };
}

export function CreateProjectForm({ csrfToken }: { csrfToken: string }) {
  const r = useResult();
  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    try {
      await api('/api/projects', csrfToken, { name: f.get('name'), guidelines: f.get('guidelines'), annotatorsPerItem: Number(f.get('annotatorsPerItem')), k: Number(f.get('k')) });
      window.location.reload();
    } catch (err) { r.fail(err); }
  }
  return (
    <form className="card" onSubmit={onSubmit} aria-labelledby="new-project-h">
      <h2 id="new-project-h">New project</h2>
      <label htmlFor="p-name">Name</label>
      <input id="p-name" name="name" required maxLength={200} />
      <label htmlFor="p-guidelines">Guidelines (Markdown)</label>
      <textarea id="p-guidelines" name="guidelines" rows={4} />
      <div className="row">
        <span><label htmlFor="p-n">Annotators per comparison</label><input id="p-n" name="annotatorsPerItem" type="number" min={1} max={50} defaultValue={1} required /></span>
        <span><label htmlFor="p-k">Responses per comparison (K)</label><input id="p-k" name="k" type="number" min={2} max={6} defaultValue={2} required /></span>
      </div>
      <button type="submit" className="primary">Create project</button>
      <p role="alert" className="error">{r.msg}</p>
    </form>
  );
}

export function ImportForm({ csrfToken, projectId, projectName }: { csrfToken: string; projectId: string; projectName: string }) {
  const r = useResult();
  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const file = f.get('file') as File | null;
    const text = file && file.size > 0 ? await file.text() : String(f.get('text') ?? '');
    try {
      const out = await api<{ imported: number }>(`/api/projects/${projectId}/import`, csrfToken, undefined, text);
      r.setErrors([]);
      r.setMsg(`Imported ${out.imported} comparisons.`);
      setTimeout(() => window.location.reload(), 600);
    } catch (err) { r.fail(err); }
  }
  return (
    <form onSubmit={onSubmit} className="import" aria-label={`Import comparisons into ${projectName}`}>
      <label htmlFor={`file-${projectId}`}>JSONL file</label>
      <input id={`file-${projectId}`} name="file" type="file" accept=".jsonl,.json,.txt,application/jsonl" />
      <label htmlFor={`text-${projectId}`}>or paste JSONL</label>
      <textarea id={`text-${projectId}`} name="text" rows={3} placeholder='{"prompt": "...", "responses": ["...", "..."]}' />
      <button type="submit">Import</button>
      <p role="status" className={r.errors.length ? 'error' : 'ok'}>{r.msg}</p>
      {r.errors.length > 0 && <ul className="error">{r.errors.map((e, i) => <li key={i}>{e}</li>)}</ul>}
    </form>
  );
}

export function CreateUserForm({ csrfToken }: { csrfToken: string }) {
  const r = useResult();
  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    try {
      const out = await api<{ user: { email: string; role: string } }>('/api/users', csrfToken, { email: f.get('email'), password: f.get('password'), role: f.get('role') });
      r.setMsg(`Created ${out.user.role} ${out.user.email}.`);
      form.reset();
    } catch (err) { r.fail(err); }
  }
  return (
    <form className="card" onSubmit={onSubmit} aria-labelledby="new-user-h">
      <h2 id="new-user-h">New account</h2>
      <label htmlFor="u-email">E-mail</label>
      <input id="u-email" name="email" type="email" required />
      <label htmlFor="u-password">Password (10+ characters)</label>
      <input id="u-password" name="password" type="password" minLength={10} required autoComplete="new-password" />
      <label htmlFor="u-role">Role</label>
      <select id="u-role" name="role" defaultValue="annotator"><option value="annotator">annotator</option><option value="admin">admin</option></select>
      <button type="submit">Create account</button>
      <p role="status">{r.msg}</p>
    </form>
  );
}

export function NextRoundButton({ csrfToken, projectId }: { csrfToken: string; projectId: string }) {
  return <button type="button" onClick={async () => { await api(`/api/projects/${projectId}/round`, csrfToken); window.location.reload(); }}>Start next round</button>;
}

export function SignOutButton({ csrfToken }: { csrfToken: string }) {
  return <button type="button" className="link" onClick={async () => { await api('/api/auth/signout', csrfToken).catch(() => undefined); window.location.assign('/signin'); }}>Sign out</button>;
}
