import type { AuthResult, Conversation } from '@parley/contracts';

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

/** A small REST client for tests: JSON in, `{ status, body }` out, never throws on HTTP errors. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on the body, whatever it is
export async function api<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) {
    body = opts.rawBody;
    headers['content-type'] ??= 'application/json';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed as T };
}

let userCounter = 0;
/** Registers a fresh user (unique name) and returns it with its tokens. */
export async function registerUser(baseUrl: string, prefix = 'user'): Promise<AuthResult> {
  const username = `${prefix}${Date.now().toString(36)}${++userCounter}`.slice(0, 32);
  const res = await api<AuthResult>(baseUrl, 'POST', '/api/auth/register', {
    body: { username, password: 'correct horse battery' },
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The 1:1 conversation of `a` and `b`, created (or found) over REST by `a`. */
export async function conversationBetween(
  baseUrl: string,
  a: AuthResult,
  b: AuthResult,
): Promise<Conversation> {
  const res = await api<Conversation>(baseUrl, 'POST', '/api/chats/conversations', {
    token: a.tokens.access,
    body: { receiver_id: b.user.id },
  });
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`conversation failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return res.body;
}
