// Refund chosen units of chosen lines. The money is the server's to work
// out (each unit's share of what the line cost after discounts); the form
// only says which units.
import type { TargetedEvent } from 'preact';
import { useState } from 'preact/hooks';
import type { Order } from '../../shared/types';
import type { RefundLine } from './orders';

export function RefundForm({
  order,
  busy,
  onSubmit,
  onClose,
}: {
  order: Order;
  busy: boolean;
  onSubmit: (lines: RefundLine[]) => void;
  onClose: () => void;
}) {
  const refundable = order.lines.filter((l) => l.quantity > l.refunded_quantity);
  const [quantities, setQuantities] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);

  function submit(event: TargetedEvent<HTMLFormElement, SubmitEvent>) {
    event.preventDefault();
    const lines: RefundLine[] = [];
    for (const line of refundable) {
      const raw = (quantities[line.id] ?? '').trim();
      if (raw === '' || raw === '0') continue;
      const quantity = Number(raw);
      const left = line.quantity - line.refunded_quantity;
      if (!Number.isInteger(quantity) || quantity < 0 || quantity > left) {
        setError(`${line.title}: choose a whole number of units from 0 to ${left}.`);
        return;
      }
      lines.push({ line_id: line.id, quantity });
    }
    if (lines.length === 0) {
      setError('Choose how many units of at least one line to refund.');
      return;
    }
    setError(null);
    setQuantities({});
    onSubmit(lines);
  }

  return (
    <form id="refund-form" class="refund" onSubmit={submit} aria-labelledby="refund-heading" noValidate>
      <h3 id="refund-heading">Refund</h3>
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      <fieldset>
        <legend>Units to refund, per line</legend>
        {refundable.map((line) => {
          const left = line.quantity - line.refunded_quantity;
          const id = `refund-${line.id}`;
          return (
            <div class="field refund-line" key={line.id}>
              <label for={id}>
                {line.title} <span class="muted">({left} of {line.quantity} left to refund)</span>
              </label>
              <input
                id={id}
                type="number"
                inputMode="numeric"
                min={0}
                max={left}
                step={1}
                value={quantities[line.id] ?? ''}
                placeholder="0"
                onInput={(e) => setQuantities({ ...quantities, [line.id]: e.currentTarget.value })}
              />
            </div>
          );
        })}
      </fieldset>
      <div class="actions">
        <button type="submit" class="button danger" disabled={busy}>
          Refund selected units
        </button>
        <button type="button" class="button" onClick={onClose}>
          Close refund
        </button>
      </div>
    </form>
  );
}
