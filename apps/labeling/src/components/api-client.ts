// Browser-side fetch helper: JSON in and out, the CSRF token on every mutation, errors as messages.

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly errors?: string[]) {
    super(message);
  }
}

export async function api<T>(path: string, csrfToken: string, body?: unknown, raw?: string): Promise<T> {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': raw !== undefined ? 'application/jsonl' : 'application/json', 'x-csrf-token': csrfToken },
    body: raw !== undefined ? raw : JSON.stringify(body ?? {}),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data?.error?.message ?? `request failed (${res.status})`, data?.error?.errors);
  return data as T;
}
