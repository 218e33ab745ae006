// A store's dashboard: KPI tiles for the period (today by default, in the
// store's time zone), the sales chart, funnel, top products, low stock and
// the live order feed. The live stream keeps it current without a reload:
// a `tick` sets today's orders and net sales at once, and every order or
// stock event re-reads the reports (debounced, so a burst costs one read).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { isRangeKey, periodFor, RANGES, type RangeKey, todayIn } from '../../shared/dates';
import { useResource } from '../../shared/resource';
import type { LiveMessage, LiveTickMessage, Store } from '../../shared/types';
import { PageHeading } from '../../shared/ui/PageHeading';
import { feedItems, fromEvent, pushLive, type FeedItem } from './feed';
import { Funnel } from './Funnel';
import { Kpis, type SalesNow } from './Kpis';
import { LiveFeed } from './LiveFeed';
import { LowStock } from './LowStock';
import { RangePicker } from './RangePicker';
import { fetchEvents, fetchFunnel, fetchHospitality, fetchLowStock, fetchSales, fetchTodaysOrders, fetchTop } from './reports';
import { SalesChart } from './SalesChart';
import { TopProducts } from './TopProducts';
import { useDebounced, useLive } from './useLive';

const REFRESH_DEBOUNCE_MS = 300;
/** How often to notice that the store's day has changed, without a tick. */
const DAY_CHECK_MS = 60_000;

export function Dashboard({ store, query }: { store: Store; query: URLSearchParams }) {
  const rangeParam = query.get('range');
  const range: RangeKey = isRangeKey(rangeParam) ? rangeParam : 'today';
  const rangeTitle = RANGES.find((r) => r.key === range)?.title ?? 'Today';

  const [today, setToday] = useState(() => todayIn(store.timezone));
  useEffect(() => {
    setToday(todayIn(store.timezone));
    const timer = window.setInterval(() => setToday(todayIn(store.timezone)), DAY_CHECK_MS);
    return () => window.clearInterval(timer);
  }, [store.timezone]);

  const period = periodFor(range, today);
  const key = [store.id, period.from, period.to, period.interval];

  const sales = useResource((signal) => fetchSales(store, period, signal), key);
  const funnel = useResource((signal) => fetchFunnel(store, period, signal), key);
  const top = useResource((signal) => fetchTop(store, period, signal), key);
  const inventory = useResource((signal) => fetchLowStock(store, signal), [store.id]);
  const hospitality = useResource(
    (signal) => (store.industry === 'hospitality' ? fetchHospitality(store, period, signal) : Promise.resolve(null)),
    [...key, store.industry],
  );
  const events = useResource(
    (signal) => (store.industry === 'events' ? fetchEvents(store, period, signal) : Promise.resolve(null)),
    [...key, store.industry],
  );
  const seedStartedAt = useRef(0);
  const seed = useResource((signal) => {
    seedStartedAt.current = Date.now();
    return fetchTodaysOrders(store, today, signal);
  }, [store.id, today]);

  // Live state: today's figures from the latest tick (until the next report
  // read replaces them) and the order events received since the feed loaded.
  const [tick, setTick] = useState<LiveTickMessage | null>(null);
  const [live, setLive] = useState<FeedItem[]>([]);
  useEffect(() => setTick(null), [sales.data]);
  // A fresh read of today's orders supersedes the events received before it
  // was asked for; later ones may be newer than what it says, so they stay.
  useEffect(
    () =>
      setLive((items) => {
        const kept = items.filter((i) => i.receivedAt > seedStartedAt.current);
        return kept.length === items.length ? items : kept;
      }),
    [seed.data],
  );
  const feed = useMemo(() => feedItems(live, seed.data?.items ?? []), [live, seed.data]);

  const refreshReports = useDebounced(() => {
    sales.refresh();
    funnel.refresh();
    top.refresh();
    inventory.refresh();
    if (store.industry === 'hospitality') hospitality.refresh();
    if (store.industry === 'events') events.refresh();
  }, REFRESH_DEBOUNCE_MS);

  const status = useLive(store.id, {
    onMessage(message: LiveMessage) {
      switch (message.type) {
        case 'tick':
          if (message.date > today) {
            setToday(message.date); // the store's day turned: every report re-reads
            return;
          }
          if (message.date < today) return; // this browser's clock runs ahead; the next tick catches up
          // A change that no event announced (or one we missed): re-read the rest.
          if (tick && (tick.orders !== message.orders || tick.net_sales_minor !== message.net_sales_minor)) refreshReports();
          setTick(message);
          return;
        case 'order.placed':
        case 'order.paid':
        case 'order.fulfilled':
        case 'order.cancelled':
        case 'order.refunded':
          setLive((items) => pushLive(items, fromEvent(message)));
          refreshReports();
          return;
        case 'stock.low':
          inventory.refresh();
          return;
        case 'ticket.checked_in':
          if (store.industry === 'events') events.refresh();
          return;
        default:
          return;
      }
    },
    onResync() {
      seed.refresh();
      refreshReports();
    },
  });

  // Today's tiles take the tick's figures; the rest comes from the report.
  const liveTick = range === 'today' && tick && tick.date === period.from ? tick : null;
  const salesNow = useMemo((): SalesNow | null => {
    if (sales.status !== 'ready') return null;
    const totals = { ...sales.data.current.totals };
    if (liveTick) {
      totals.orders = liveTick.orders;
      totals.net_sales_minor = liveTick.net_sales_minor;
    }
    return { totals, previous: sales.data.previous?.totals ?? null };
  }, [sales, liveTick]);

  return (
    <div class="dashboard">
      <div class="page-head">
        <PageHeading title={`Dashboard · ${store.display_name}`}>Dashboard</PageHeading>
        <RangePicker range={range} />
      </div>
      <Kpis
        store={store}
        title={rangeTitle}
        sales={salesNow}
        salesResource={sales}
        hospitality={store.industry === 'hospitality' ? hospitality : null}
        events={store.industry === 'events' ? events : null}
      />
      {/* Reading order is the phone's: chart, live orders, funnel, top, stock. */}
      <div class="grid">
        <SalesChart store={store} sales={sales} rangeTitle={rangeTitle} />
        <LiveFeed store={store} items={feed} seed={seed} status={status} />
        <Funnel funnel={funnel} />
        <TopProducts top={top} />
        <LowStock inventory={inventory} />
      </div>
    </div>
  );
}
