// Which store to work in. With exactly one, there is nothing to choose: go
// straight to it.
import { useEffect } from 'preact/hooks';
import { useResource } from '../shared/resource';
import { navigate } from '../shared/router';
import { Empty, ErrorState, Loading } from '../shared/ui/States';
import { PageHeading } from '../shared/ui/PageHeading';
import { Header } from './StoreLayout';
import { listStores, storePath } from './stores';
import { industryLabel } from './industry';

export function StorePicker() {
  const stores = useResource((signal) => listStores(signal), []);
  const only = stores.status === 'ready' && stores.data.items.length === 1 && !stores.data.next_cursor ? stores.data.items[0] : undefined;

  useEffect(() => {
    if (only) navigate(storePath(only.id), { replace: true });
  }, [only]);

  return (
    <>
      <Header storeId={null} store={null} section="stores" />
      <main id="main" class="page narrow" tabIndex={-1}>
        <PageHeading title="Choose a store" />
        {stores.status === 'loading' && <Loading label="Loading your stores…" />}
        {stores.status === 'error' && <ErrorState error={stores.error} onRetry={stores.reload} what="your stores" />}
        {stores.status === 'ready' && stores.data.items.length === 0 && <Empty>You do not work in any store yet. Ask an owner to add you.</Empty>}
        {stores.status === 'ready' && stores.data.items.length > 0 && !only && (
          <ul class="store-list">
            {stores.data.items.map((store) => (
              <li key={store.id}>
                <a class="card store-card" href={storePath(store.id)}>
                  <span class="store-card-name">{store.display_name}</span>
                  <span class="muted">
                    {industryLabel(store.industry)} · {store.currency} · {store.timezone}
                  </span>
                </a>
              </li>
            ))}
          </ul>
        )}
      </main>
    </>
  );
}
