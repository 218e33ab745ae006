// Numbers that are not money, in the app's language.
const integer = new Intl.NumberFormat('en');
const percent2 = new Intl.NumberFormat('en', { minimumFractionDigits: 0, maximumFractionDigits: 2 });

export function formatCount(value: number): string {
  return integer.format(value);
}

/** The API's percentages are numbers like 42.5 (already ×100): `42.5%`. */
export function formatPercent(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${percent2.format(value)}%`;
}
