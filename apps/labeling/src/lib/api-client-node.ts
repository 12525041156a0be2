// A cookie-keeping client of the labeling app's JSON API for programs outside the browser (tests, the
// benchmark, the demo round of `npm start`): one instance per user, CSRF token kept after sign-in.

/** A cookie-keeping client of the app's JSON API (one per simulated user). */
export class ApiClient {
  cookies = new Map<string, string>();
  csrf = '';
  constructor(readonly base: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(method: string, p: string, opts: { body?: unknown; raw?: string; csrf?: string | null; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (this.cookies.size) headers.cookie = this.cookieHeader();
    const csrf = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (csrf) headers['x-csrf-token'] = csrf;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) { body = JSON.stringify(opts.body); headers['content-type'] = 'application/json'; }
    const res = await fetch(this.base + p, { method, headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [kv] = c.split(';');
      const [k, ...v] = kv.split('=');
      if (/Max-Age=0/.test(c)) this.cookies.delete(k);
      else this.cookies.set(k, v.join('='));
    }
    return res;
  }

  async signIn(email: string, password: string): Promise<Response> {
    const t = await (await this.request('GET', '/api/auth/csrf')).json();
    const res = await this.request('POST', '/api/auth/signin', { body: { email, password }, csrf: t.csrfToken });
    if (res.ok) this.csrf = (await res.clone().json()).csrfToken;
    return res;
  }

  async json<T = Record<string, unknown>>(method: string, p: string, body?: unknown): Promise<T> {
    const res = await this.request(method, p, { body });
    const data = await res.json();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(data)}`);
    return data as T;
  }
}
