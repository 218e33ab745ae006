// Stores as the staff area reads them. A store changes rarely (its name,
// zone or industry, by its owner's Store resource), so one read per visit
// is kept for the header and every page of the store.
import { api } from '../shared/api';
import type { Page, Store } from '../shared/types';

const cache = new Map<string, Store>();

export async function listStores(signal?: AbortSignal, cursor?: string): Promise<Page<Store>> {
  const page = await api<Page<Store>>('/v1/stores', { query: { limit: 100, cursor }, signal });
  for (const store of page.items) cache.set(store.id, store);
  return page;
}

export async function getStore(storeId: string, signal?: AbortSignal): Promise<Store> {
  const known = cache.get(storeId);
  if (known) return known;
  const store = await api<Store>(`/v1/stores/${encodeURIComponent(storeId)}`, { signal });
  cache.set(store.id, store);
  return store;
}

export function storePath(storeId: string, rest = ''): string {
  return `/app/stores/${encodeURIComponent(storeId)}${rest}`;
}
