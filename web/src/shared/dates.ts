// Days in the store's time zone. The analytics count a store's local days
// (docs/analytics.md), so "today" is the store's today, not the browser's:
// a manager in New York looking at a Berlin store sees Berlin's day.
//
// Local dates are `YYYY-MM-DD` strings; arithmetic on them is calendar
// arithmetic (done in UTC, where every day has 24 hours), and only turning
// one into an instant needs the zone.

// Building an Intl formatter costs far more than using one: every
// formatter here is made once per zone and kept.
const partFormatters = new Map<string, Intl.DateTimeFormat>();
const checkedZones = new Map<string, string>();

function safeZone(timeZone: string): string {
  let zone = checkedZones.get(timeZone);
  if (zone === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone });
      zone = timeZone;
    } catch {
      zone = 'UTC'; // An unknown zone name: better UTC than a blank screen.
    }
    checkedZones.set(timeZone, zone);
  }
  return zone;
}

function parts(instant: Date, timeZone: string): Record<string, number> {
  const zone = safeZone(timeZone);
  let f = partFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partFormatters.set(zone, f);
  }
  const out: Record<string, number> = {};
  for (const p of f.formatToParts(instant)) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return out;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** The local date of an instant in a zone. */
export function localDate(instant: Date, timeZone: string): string {
  const p = parts(instant, timeZone);
  return `${pad(p.year ?? 1970, 4)}-${pad(p.month ?? 1)}-${pad(p.day ?? 1)}`;
}

export function todayIn(timeZone: string, now: Date = new Date()): string {
  return localDate(now, timeZone);
}

export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  const t = new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + days));
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** The zone's offset from UTC at an instant, in milliseconds. */
function offsetAt(instant: number, timeZone: string): number {
  const p = parts(new Date(instant), timeZone);
  const asUtc = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant a local date starts in the zone (RFC 3339, UTC), for the
 * orders list's `created_from` / `created_before`. Twice corrected, so a
 * midnight next to a clock change lands on the right side.
 */
export function startOfLocalDate(date: string, timeZone: string): string {
  const [y, m, d] = date.split('-').map(Number);
  const wall = Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1);
  let guess = wall - offsetAt(wall, timeZone);
  guess = wall - offsetAt(guess, timeZone);
  return new Date(guess).toISOString();
}

export type RangeKey = 'today' | '7d' | '30d';

export const RANGES: { key: RangeKey; label: string; title: string }[] = [
  { key: 'today', label: 'Today', title: 'Today' },
  { key: '7d', label: '7 days', title: 'Last 7 days' },
  { key: '30d', label: '30 days', title: 'Last 30 days' },
];

export function isRangeKey(value: string | null): value is RangeKey {
  return value === 'today' || value === '7d' || value === '30d';
}

export interface Period {
  /** First local date, included. */
  from: string;
  /** Local date after the last one, excluded (the API's `to`). */
  to: string;
  /** Series buckets for the sales chart: hours for one day, else days. */
  interval: 'hour' | 'day';
}

/** A range ending today (included) in the store's zone. */
export function periodFor(range: RangeKey, today: string): Period {
  const to = addDays(today, 1);
  switch (range) {
    case 'today':
      return { from: today, to, interval: 'hour' };
    case '7d':
      return { from: addDays(today, -6), to, interval: 'day' };
    case '30d':
      return { from: addDays(today, -29), to, interval: 'day' };
  }
}

const dateTimeFormatters = new Map<string, Intl.DateTimeFormat>();

function display(timeZone: string, kind: 'datetime' | 'time' | 'date'): Intl.DateTimeFormat {
  const zone = safeZone(timeZone);
  const key = `${zone}:${kind}`;
  let f = dateTimeFormatters.get(key);
  if (!f) {
    const options: Intl.DateTimeFormatOptions =
      kind === 'time'
        ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
        : kind === 'date'
          ? { year: 'numeric', month: 'short', day: 'numeric' }
          : { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
    f = new Intl.DateTimeFormat('en', { ...options, timeZone: zone });
    dateTimeFormatters.set(key, f);
  }
  return f;
}

/** `Mar 3, 2026, 14:05` in the store's zone. */
export function formatDateTime(iso: string, timeZone: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : display(timeZone, 'datetime').format(t);
}

/** `14:05` in the store's zone. */
export function formatTime(iso: string, timeZone: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : display(timeZone, 'time').format(t);
}

/** A local date (`2026-03-03`) as `Mar 3, 2026`; no zone shift (it is already local). */
export function formatLocalDate(date: string): string {
  const t = Date.parse(`${date}T00:00:00Z`);
  return Number.isNaN(t) ? date : display('UTC', 'date').format(t);
}
