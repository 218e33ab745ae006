// The service worker: keeps the app shell (index.html, the hashed assets,
// the manifest and icons) so the app opens offline, and nothing else.
//
// It never touches the API: requests to /v1/ (or anything outside /app/)
// are not intercepted at all, so no data, token or error of the API is ever
// cached or served stale. Pages are network-first (a new release shows on
// the next load); hashed assets are cache-first (their names change when
// their content does).

// A module, so this `self` (the service worker's scope) shadows the lib's
// generic worker one.
export {};
declare const self: ServiceWorkerGlobalScope;
/** Filled in by build.mjs: the shell's URLs and a hash of their contents. */
declare const __PRECACHE__: string[];
declare const __VERSION__: string;

const PREFIX = 'shopfleet-shell-';
const CACHE = `${PREFIX}${__VERSION__}`;
const SCOPE = '/app/';
/** The document every app route is served from. */
const SHELL = '/app/';

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(__PRECACHE__)));
  // No skipWaiting: pages opened under the old version keep the old
  // version's files (their lazy chunks) until they are closed.
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE).map((n) => caches.delete(n)));
      await self.clients.claim();
    })(),
  );
});

async function fromNetworkOrShell(request: Request): Promise<Response> {
  try {
    return await fetch(request);
  } catch {
    const cached = await caches.match(SHELL, { cacheName: CACHE });
    return cached ?? Response.error();
  }
}

async function fromCacheOrNetwork(request: Request): Promise<Response> {
  const cached = await caches.match(request, { cacheName: CACHE });
  return cached ?? fetch(request);
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  // Only the app's own files: never /v1/ (the API), never another origin.
  if (url.origin !== self.location.origin || url.pathname.startsWith('/v1/')) return;
  if (!url.pathname.startsWith(SCOPE)) return;
  if (request.mode === 'navigate') {
    event.respondWith(fromNetworkOrShell(request));
    return;
  }
  if (__PRECACHE__.includes(url.pathname)) event.respondWith(fromCacheOrNetwork(request));
});
