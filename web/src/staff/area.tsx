// The staff area: its route table, and the rule that every page but sign-in
// needs a session.
import { useEffect } from 'preact/hooks';
import type { AreaProps } from '../main';
import { BASE, match, navigate } from '../shared/router';
import { useSignedIn } from '../shared/useSession';
import { NotFound } from '../shared/ui/NotFound';
import { Dashboard } from './dashboard/Dashboard';
import { OrderDetail } from './orders/OrderDetail';
import { OrderList } from './orders/OrderList';
import { SignIn } from './SignIn';
import { StoreLayout } from './StoreLayout';
import { StorePicker } from './StorePicker';

export const STORES = `${BASE}/stores`;

/** Where a signed-in user may be sent back to: only the app's own pages. */
export function safeNext(next: string | null): string {
  return next !== null && next.startsWith(`${BASE}/`) && !next.startsWith('//') ? next : STORES;
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

export default function StaffArea({ location }: AreaProps) {
  const signedIn = useSignedIn();
  const { path, query } = location;

  if (path === BASE || path === `${BASE}/`) {
    return signedIn ? <Redirect to={safeNext(query.get('next'))} /> : <SignIn />;
  }
  if (!signedIn) {
    return <Redirect to={`${BASE}/?next=${encodeURIComponent(path + window.location.search)}`} />;
  }
  if (match(STORES, path)) return <StorePicker />;

  let params = match(`${STORES}/:storeId`, path);
  if (params) {
    const storeId = params.storeId!;
    return <StoreLayout storeId={storeId} section="dashboard">{(store) => <Dashboard store={store} query={query} />}</StoreLayout>;
  }
  params = match(`${STORES}/:storeId/orders`, path);
  if (params) {
    return <StoreLayout storeId={params.storeId!} section="orders">{(store) => <OrderList store={store} query={query} />}</StoreLayout>;
  }
  params = match(`${STORES}/:storeId/orders/:orderId`, path);
  if (params) {
    const orderId = params.orderId!;
    return <StoreLayout storeId={params.storeId!} section="orders">{(store) => <OrderDetail store={store} orderId={orderId} />}</StoreLayout>;
  }
  return <NotFound />;
}
