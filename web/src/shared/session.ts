// Who is signed in. The access token (a 10-minute JWT) lives in memory only,
// so no script that reads storage can steal a usable bearer token later; the
// refresh token is in localStorage so a reload or a second tab stays signed
// in (it is single-use: each refresh returns the next one).
//
// Refresh tokens are spent once; presenting one twice revokes the whole
// session family (docs/api.md, "Accounts and sessions"). So refreshes are
// serialised within a tab (one promise) and across tabs (a Web Lock), and
// each reads the token from storage inside the lock: a tab never spends a
// token another tab already spent.
import { ApiProblem, networkProblem, problemFrom } from './problem';
import type { Session, User } from './types';

const REFRESH_KEY = 'shopfleet.refresh_token';
const LOCK_NAME = 'shopfleet.refresh';
/** Refresh this long before the access token runs out, not on its last breath. */
const EARLY_MS = 30_000;

interface Access {
  token: string;
  expiresAt: number;
}

let access: Access | null = null;
let user: User | null = null;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<() => void>();

function readStored(): string | null {
  try {
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null; // Storage disabled: the session lasts as long as the tab.
  }
}

function writeStored(token: string | null): void {
  try {
    if (token === null) localStorage.removeItem(REFRESH_KEY);
    else localStorage.setItem(REFRESH_KEY, token);
  } catch {
    // Storage disabled or full: nothing to do, the in-memory token still works.
  }
}

function notify(): void {
  for (const listener of listeners) listener();
}

function adopt(session: Session): void {
  access = { token: session.access_token, expiresAt: Date.now() + session.expires_in * 1000 };
  user = session.user;
  writeStored(session.refresh_token);
  notify();
}

/** Forget everything locally (the server side is `signOut`'s job). */
function clear(): void {
  const was = isSignedIn();
  access = null;
  user = null;
  writeStored(null);
  if (was) notify();
}

export function isSignedIn(): boolean {
  return access !== null || readStored() !== null;
}

export function currentUser(): User | null {
  return user;
}

/** The access token, when there is one that is not about to run out. */
export function freshAccessToken(): string | null {
  return access !== null && access.expiresAt - EARLY_MS > Date.now() ? access.token : null;
}

/** The access token as it is, for telling whether another request already refreshed it. */
export function currentAccessToken(): string | null {
  return access?.token ?? null;
}

export function onSessionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

async function postJson(path: string, body: unknown): Promise<Response> {
  try {
    return await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
    });
  } catch {
    throw networkProblem();
  }
}

export async function signIn(email: string, password: string): Promise<void> {
  const response = await postJson('/v1/auth/login', { email, password });
  if (!response.ok) throw await problemFrom(response);
  adopt((await response.json()) as Session); // JSON boundary
}

async function spendRefreshToken(): Promise<boolean> {
  const token = readStored();
  if (token === null) {
    clear();
    return false;
  }
  const response = await postJson('/v1/auth/refresh', { refresh_token: token });
  if (response.ok) {
    adopt((await response.json()) as Session); // JSON boundary
    return true;
  }
  const problem = await problemFrom(response);
  if (problem.status === 401 || problem.status === 400 || problem.status === 422) {
    // Spent, revoked, expired or past 90 days: this session is over.
    clear();
    return false;
  }
  throw problem; // 429, 503, 5xx: the session may be fine; let the caller retry.
}

/**
 * Gets a new access token with the stored refresh token. Resolves false when
 * the session is over (the user must sign in again); throws an ApiProblem
 * when the server could not answer (the session is kept).
 */
export function refresh(): Promise<boolean> {
  if (refreshing === null) {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    const run = locks ? locks.request(LOCK_NAME, spendRefreshToken) : spendRefreshToken();
    refreshing = run.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** The session ended on the server (a 401 after a refresh): sign in again. */
export function expire(): void {
  clear();
}

export async function signOut(): Promise<void> {
  const token = readStored();
  clear();
  if (token === null) return;
  try {
    const response = await postJson('/v1/auth/logout', { refresh_token: token });
    if (!response.ok && response.status !== 401) throw await problemFrom(response);
  } catch (error) {
    // Signed out here either way; the refresh token runs out on its own.
    if (!(error instanceof ApiProblem)) throw error;
  }
}

// Another tab signed out (or in): follow it.
if (typeof window !== 'undefined') {
  window.addEventListener('storage', (event) => {
    if (event.key !== REFRESH_KEY && event.key !== null) return;
    if (event.newValue === null && access !== null) {
      access = null;
      user = null;
      notify();
    } else if (event.oldValue === null && event.newValue !== null) {
      notify();
    }
  });
}
