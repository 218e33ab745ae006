// The app's entry: the router and the table of areas. Each area is its own
// lazily loaded chunk sharing `shared/`: the staff area now; a customer
// shop later is one more entry here (say `/app/shop/...` → `./shop/area`),
// and neither downloads the other's code.
import type { ComponentType } from 'preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { BASE, type Location, startRouter, useLocation } from './shared/router';
import { freshAccessToken, isSignedIn, refresh } from './shared/session';
import { NotFound } from './shared/ui/NotFound';

export interface AreaProps {
  location: Location;
}

interface Area {
  name: string;
  matches(path: string): boolean;
  load(): Promise<{ default: ComponentType<AreaProps> }>;
}

const AREAS: Area[] = [
  {
    // Sign-in at /app/, and every store's pages.
    name: 'staff',
    matches: (path) => path === `${BASE}/` || path === BASE || path === `${BASE}/stores` || path.startsWith(`${BASE}/stores/`),
    load: () => import('./staff/area'),
  },
];

const loaded = new Map<string, ComponentType<AreaProps>>();

function App() {
  const location = useLocation();
  const area = AREAS.find((a) => a.matches(location.path));
  const [, setVersion] = useState(0);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    if (!area || loaded.has(area.name)) return;
    let live = true;
    area.load().then(
      (module) => {
        loaded.set(area.name, module.default);
        if (live) setVersion((v) => v + 1);
      },
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [area]);

  if (!area) return <NotFound />;
  const Component = loaded.get(area.name);
  if (Component) return <Component location={location} />;
  if (failed) {
    // Usually a new release replaced the chunk this page expected.
    return (
      <main id="main" class="boot">
        <h1>Shopfleet could not load</h1>
        <p role="alert">This page could not be loaded; a new version may be out.</p>
        <button type="button" class="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </main>
    );
  }
  return (
    <main id="main" class="boot" aria-busy="true">
      <p role="status">Loading Shopfleet…</p>
    </main>
  );
}

function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  // After the load, so installing the offline copy never competes with the first paint.
  window.addEventListener('load', () => {
    navigator.serviceWorker.register(`${BASE}/sw.js`, { scope: `${BASE}/` }).catch(() => {
      // No offline copy (private mode, http on a LAN name): the app works without it.
    });
  });
}

const root = document.getElementById('root');
if (root) {
  // After a reload only the refresh token survives: renew the access token
  // while the area's code downloads, rather than after it.
  if (isSignedIn() && freshAccessToken() === null) refresh().catch(() => undefined);
  startRouter();
  root.textContent = ''; // the static "Loading" text of index.html
  render(<App />, root);
  registerServiceWorker();
}
