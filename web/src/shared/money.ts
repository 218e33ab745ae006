// Money arrives as integer minor units of the store's currency (cents for
// EUR, yen for JPY). It is shown through Intl.NumberFormat in English, the
// app's language, with the currency's own number of decimals.
const formatters = new Map<string, Intl.NumberFormat>();
const digits = new Map<string, number>();

function formatter(currency: string, compact = false): Intl.NumberFormat {
  const key = `${currency}:${compact ? 'c' : ''}`;
  let f = formatters.get(key);
  if (!f) {
    f = compact
      ? new Intl.NumberFormat('en', { style: 'currency', currency, notation: 'compact', maximumFractionDigits: 1 })
      : new Intl.NumberFormat('en', { style: 'currency', currency });
    formatters.set(key, f);
  }
  return f;
}

/** Decimals of the currency's minor unit: 2 for EUR, 0 for JPY, 3 for KWD. */
export function minorDigits(currency: string): number {
  let d = digits.get(currency);
  if (d === undefined) {
    d = formatter(currency).resolvedOptions().maximumFractionDigits ?? 2;
    digits.set(currency, d);
  }
  return d;
}

/** Minor units as a number of major units (1234 EUR cents → 12.34). */
export function toMajor(minor: number, currency: string): number {
  return minor / 10 ** minorDigits(currency);
}

/** `€1,234.50` from 123450 and `EUR`. */
export function formatMoney(minor: number, currency: string): string {
  return formatter(currency).format(toMajor(minor, currency));
}

/** `€1.2K`, for chart axes. */
export function formatMoneyCompact(major: number, currency: string): string {
  return formatter(currency, true).format(major);
}
