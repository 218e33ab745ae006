// The events report has one row per event; the tiles want the period's
// figures, summed over its events, with the report's own rounding: percent
// to two decimals, half up (docs/analytics.md, "Events"). Integer arithmetic
// keeps it exact, so one event's tile equals the report's row.
import type { EventFigures } from '../../shared/types';

/** Σ part ÷ Σ whole as a percent with two decimals, half up; null for 0 ÷ 0. */
function percent(part: number, whole: number): number | null {
  if (whole <= 0) return null;
  const hundredths = Math.floor((2 * part * 10_000 + whole) / (2 * whole));
  return hundredths / 100;
}

export interface EventTotals {
  events: number;
  ticketsSold: number;
  capacity: number;
  sellThroughPercent: number | null;
  /** Over the events that have started (checked_in is null before). */
  checkInPercent: number | null;
}

export function eventTotals(events: readonly EventFigures[]): EventTotals {
  let ticketsSold = 0;
  let capacity = 0;
  let startedSold = 0;
  let checkedIn = 0;
  let started = 0;
  for (const e of events) {
    ticketsSold += e.tickets_sold;
    capacity += e.capacity;
    if (e.checked_in !== null && e.checked_in !== undefined) {
      started += 1;
      startedSold += e.tickets_sold;
      checkedIn += e.checked_in;
    }
  }
  const single = events.length === 1 ? events[0] : undefined;
  return {
    events: events.length,
    ticketsSold,
    capacity,
    // One event: the report's own figure, exactly.
    sellThroughPercent: single ? (single.sell_through_percent ?? null) : percent(ticketsSold, capacity),
    checkInPercent: single ? (single.check_in_percent ?? null) : started > 0 ? percent(checkedIn, startedSold) : null,
  };
}
