// An order's status as a badge: its word, not only a color.
const KNOWN = new Set(['pending', 'paid', 'fulfilled', 'cancelled', 'refunded']);

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${KNOWN.has(status) ? status : 'other'}`}>{status}</span>;
}
