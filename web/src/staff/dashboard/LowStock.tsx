// Variants about to run out (available at or under the low-stock mark),
// soonest out first.
import { memo } from '../../shared/memo';
import { formatCount } from '../../shared/format';
import type { ResourceHandle } from '../../shared/resource';
import type { InventoryReport } from '../../shared/types';
import { Empty, ErrorState, Loading } from '../../shared/ui/States';
import { TableScroll } from '../../shared/ui/TableScroll';

const days = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

export const LowStock = memo(function LowStock({ inventory }: { inventory: ResourceHandle<InventoryReport> }) {
  const report = inventory.status === 'ready' ? inventory.data : null;
  const low = report ? report.variants.filter((v) => v.low_stock) : [];
  return (
    <section class="panel stock-panel" aria-labelledby="stock-heading">
      <h2 id="stock-heading">Low stock</h2>
      {inventory.status === 'loading' && <Loading label="Loading stock…" />}
      {inventory.status === 'error' && <ErrorState error={inventory.error} onRetry={inventory.reload} what="stock" />}
      {report && low.length === 0 && <Empty>Nothing is low on stock.</Empty>}
      {report && low.length > 0 && (
        <TableScroll label="Low stock">
          <table>
            <thead>
              <tr>
                <th scope="col">Item</th>
                <th scope="col">SKU</th>
                <th scope="col" class="num">Available</th>
                <th scope="col" class="num">Days of cover</th>
              </tr>
            </thead>
            <tbody>
              {low.map((v) => (
                <tr key={v.variant_id}>
                  <th scope="row">{v.name}</th>
                  <td>{v.sku}</td>
                  <td class="num">{formatCount(v.available)}</td>
                  <td class="num">{v.days_of_cover === null || v.days_of_cover === undefined ? '—' : days.format(v.days_of_cover)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      {report && low.length > 0 && (
        <p class="muted small">
          At or under {formatCount(report.low_stock_units)} available; cover from the last {formatCount(report.days)} days' sales.
        </p>
      )}
    </section>
  );
});
