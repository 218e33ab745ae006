// Today / 7 days / 30 days. The choice is in the URL (`?range=7d`), so a
// reload or a shared link shows the same period.
import { RANGES, type RangeKey } from '../../shared/dates';
import { setQuery } from '../../shared/router';

export function RangePicker({ range }: { range: RangeKey }) {
  return (
    <div class="range" role="group" aria-label="Period">
      {RANGES.map((r) => (
        <button
          key={r.key}
          type="button"
          class="range-button"
          aria-pressed={r.key === range ? 'true' : 'false'}
          onClick={() => setQuery({ range: r.key === 'today' ? null : r.key })}
        >
          {r.label}
        </button>
      ))}
    </div>
  );
}
