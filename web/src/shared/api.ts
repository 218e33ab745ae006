// The typed client of the tenant API, on the app's own origin (relative
// `/v1/...` URLs, so no CORS and the CSP's `connect-src 'self'` holds).
// Tokens travel only in the Authorization header, never in a URL.
import { ApiProblem, networkProblem, problemFrom } from './problem';
import * as session from './session';

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /** For requests that move money or stock: one per user action, reused only to retry it. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send(path: string, options: RequestOptions, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.idempotencyKey !== undefined) headers['Idempotency-Key'] = options.idempotencyKey;
  try {
    return await fetch(withQuery(path, options.query), {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw networkProblem();
  }
}

/** A token to send: the one in memory, or a refreshed one after a reload. */
async function tokenToSend(): Promise<string | null> {
  const fresh = session.freshAccessToken();
  if (fresh !== null || !session.isSignedIn()) return fresh;
  // Nothing usable in memory (a reload, a new tab, or about to expire).
  await session.refresh();
  return session.freshAccessToken();
}

/**
 * Calls the API and returns its JSON (undefined for 204). Throws an
 * ApiProblem for every error answer. A 401 spends the refresh token once
 * and retries; a second 401 ends the session.
 */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const token = await tokenToSend();
  let response = await send(path, options, token);
  if (response.status === 401 && session.isSignedIn()) {
    // Another request may have refreshed meanwhile: use its token rather
    // than spending the next refresh token for nothing.
    const renewed = session.currentAccessToken() !== token || (await session.refresh());
    const next = session.currentAccessToken();
    if (renewed && next !== null) response = await send(path, options, next);
    if (response.status === 401) session.expire();
  }
  if (!response.ok) throw await problemFrom(response);
  if (response.status === 204) return undefined as T;
  try {
    return (await response.json()) as T; // JSON boundary: trusted to match api/openapi.json
  } catch {
    throw new ApiProblem({
      type: 'client',
      title: 'Bad response',
      status: response.status,
      detail: 'The server sent an answer the app could not read.',
    });
  }
}

/** A fresh key for one user action (docs/api.md, "Idempotency"). */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // randomUUID exists only in secure contexts; plain http on a LAN name is not one.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
