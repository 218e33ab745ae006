// The frame of a store's pages: a skip link, the header with the store's
// name, the navigation (Dashboard / Orders) and sign-out, then the page.
import type { ComponentChildren } from 'preact';
import { useCallback } from 'preact/hooks';
import { useResource } from '../shared/resource';
import { BASE, navigate } from '../shared/router';
import { signOut } from '../shared/session';
import type { Store } from '../shared/types';
import { NotFoundContent } from '../shared/ui/NotFound';
import { ErrorState, Loading } from '../shared/ui/States';
import { getStore, storePath } from './stores';

export type Section = 'dashboard' | 'orders' | 'stores';

export function useSignOut(): () => Promise<void> {
  return useCallback(async () => {
    await signOut();
    navigate(`${BASE}/`, { replace: true });
  }, []);
}

/**
 * The header keeps its shape while the store loads (its links need only the
 * id, its name line is reserved), so nothing below it jumps when it arrives.
 */
export function Header({ storeId, store, section }: { storeId: string | null; store: Store | null; section: Section }) {
  const onSignOut = useSignOut();
  const link = (to: Section, href: string, label: string) => (
    <li>
      <a href={href} aria-current={section === to ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
  return (
    <header class="topbar">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <div class="topbar-inner">
        <p class="topbar-store">
          <span class="brand">Shopfleet</span>
          {storeId !== null && <span class="store-name">{store ? store.display_name : '\u00a0'}</span>}
        </p>
        <nav aria-label="Main">
          <ul class="nav-links">
            {storeId !== null && link('dashboard', storePath(storeId), 'Dashboard')}
            {storeId !== null && link('orders', storePath(storeId, '/orders'), 'Orders')}
            {link('stores', `${BASE}/stores`, 'Stores')}
          </ul>
        </nav>
        <button type="button" class="button subtle" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}

export function StoreLayout({
  storeId,
  section,
  children,
}: {
  storeId: string;
  section: Section;
  children: (store: Store) => ComponentChildren;
}) {
  const store = useResource((signal) => getStore(storeId, signal), [storeId]);
  return (
    <>
      <Header storeId={storeId} store={store.data ?? null} section={section} />
      <main id="main" class="page" tabIndex={-1}>
        {store.status === 'loading' && <Loading label="Loading the store…" />}
        {store.status === 'error' &&
          (store.error.status === 404 ? (
            <NotFoundContent what="store" />
          ) : (
            <>
              <h1>Store</h1>
              <ErrorState error={store.error} onRetry={store.reload} what="the store" />
            </>
          ))}
        {store.status === 'ready' && children(store.data)}
      </main>
    </>
  );
}
