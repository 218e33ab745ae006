// What was ordered: the lines with their prices, the discounts that applied,
// and (for events) the ticket codes issued on payment.
import { formatLocalDate } from '../../shared/dates';
import { formatMoney } from '../../shared/money';
import type { Order } from '../../shared/types';
import { TableScroll } from '../../shared/ui/TableScroll';

export function OrderLines({ order }: { order: Order }) {
  const c = order.currency;
  const hasNights = order.lines.some((l) => l.night);
  return (
    <section class="panel" aria-labelledby="lines-heading">
      <h2 id="lines-heading">Lines</h2>
      <TableScroll label="Order lines">
        <table>
          <thead>
            <tr>
              <th scope="col">Item</th>
              <th scope="col">SKU</th>
              {hasNights && <th scope="col">Night</th>}
              <th scope="col" class="num">Qty</th>
              <th scope="col" class="num">Unit price</th>
              <th scope="col" class="num">Discount</th>
              <th scope="col" class="num">Total</th>
              <th scope="col" class="num">Refunded</th>
            </tr>
          </thead>
          <tbody>
            {order.lines.map((line) => (
              <tr key={line.id}>
                <th scope="row">{line.title}</th>
                <td class="mono">{line.sku}</td>
                {hasNights && <td>{line.night ? formatLocalDate(line.night) : '—'}</td>}
                <td class="num">{line.quantity}</td>
                <td class="num">{formatMoney(line.unit_price_minor, c)}</td>
                <td class="num">{line.discount_minor > 0 ? `−${formatMoney(line.discount_minor, c)}` : '—'}</td>
                <td class="num">{formatMoney(line.total_minor, c)}</td>
                <td class="num">
                  {line.refunded_quantity > 0 ? `${line.refunded_quantity} · ${formatMoney(line.refunded_minor, c)}` : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {order.discounts.length > 0 && (
        <>
          <h3>Discounts</h3>
          <ul class="plain">
            {order.discounts.map((d) => (
              <li key={d.promotion_id}>
                {d.name}
                {d.code && <span class="mono"> ({d.code})</span>}: −{formatMoney(d.amount_minor, c)}
              </li>
            ))}
          </ul>
        </>
      )}
      {order.tickets && order.tickets.length > 0 && (
        <>
          <h3>Tickets</h3>
          <TableScroll label="Tickets">
            <table>
              <thead>
                <tr>
                  <th scope="col">Code</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {order.tickets.map((t) => (
                  <tr key={t.code}>
                    <th scope="row" class="mono">
                      {t.code}
                    </th>
                    <td>{t.status.replace('_', ' ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        </>
      )}
    </section>
  );
}
