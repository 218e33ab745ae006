// The period's best sellers by net sales.
import { memo } from '../../shared/memo';
import { formatCount } from '../../shared/format';
import { formatMoney } from '../../shared/money';
import type { ResourceHandle } from '../../shared/resource';
import type { TopReport } from '../../shared/types';
import { Empty, ErrorState, Loading } from '../../shared/ui/States';
import { TableScroll } from '../../shared/ui/TableScroll';

export const TopProducts = memo(function TopProducts({ top }: { top: ResourceHandle<TopReport> }) {
  const report = top.status === 'ready' ? top.data : null;
  return (
    <section class="panel top-panel" aria-labelledby="top-heading">
      <h2 id="top-heading">Top products</h2>
      {top.status === 'loading' && <Loading label="Loading top products…" />}
      {top.status === 'error' && <ErrorState error={top.error} onRetry={top.reload} what="top products" />}
      {report && report.current.items.length === 0 && <Empty>No products sold in this period.</Empty>}
      {report && report.current.items.length > 0 && (
        <TableScroll label="Top products">
          <table>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col" class="num">Net units</th>
                <th scope="col" class="num">Net sales</th>
              </tr>
            </thead>
            <tbody>
              {report.current.items.map((item) => (
                <tr key={item.id}>
                  <th scope="row">{item.name ?? <span class="muted">Deleted product</span>}</th>
                  <td class="num">{formatCount(item.net_units)}</td>
                  <td class="num">{formatMoney(item.net_sales_minor, report.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
});
