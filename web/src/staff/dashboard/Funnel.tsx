// What shoppers did before buying: each step as a labelled bar, with the
// share of sessions that reached it and the conversion from the step before
// (the report's own percentages, docs/analytics.md "Funnel").
import { memo } from '../../shared/memo';
import { formatCount, formatPercent } from '../../shared/format';
import type { ResourceHandle } from '../../shared/resource';
import type { FunnelReport } from '../../shared/types';
import { Empty, ErrorState, Loading } from '../../shared/ui/States';

const STEPS = [
  { key: 'sessions', label: 'Sessions' },
  { key: 'viewed_product', label: 'Viewed a product' },
  { key: 'added_to_cart', label: 'Added to cart' },
  { key: 'started_checkout', label: 'Started checkout' },
  { key: 'purchased', label: 'Purchased' },
] as const;

export const Funnel = memo(function Funnel({ funnel }: { funnel: ResourceHandle<FunnelReport> }) {
  const totals = funnel.status === 'ready' ? funnel.data.current.totals : null;
  return (
    <section class="panel funnel-panel" aria-labelledby="funnel-heading">
      <h2 id="funnel-heading">Conversion funnel</h2>
      {funnel.status === 'loading' && <Loading label="Loading the funnel…" />}
      {funnel.status === 'error' && <ErrorState error={funnel.error} onRetry={funnel.reload} what="the funnel" />}
      {totals && totals.sessions === 0 && <Empty>No storefront sessions in this period.</Empty>}
      {totals && totals.sessions > 0 && (
        <>
          <ol class="funnel">
            {STEPS.map((step, i) => {
              const count = totals[step.key];
              const share = count / totals.sessions;
              const fromPrevious = i === 0 ? null : (totals.step_conversion_percent[i - 1] ?? null);
              return (
                <li key={step.key} class="funnel-step">
                  <div class="funnel-label">
                    <span>{step.label}</span>
                    <span class="funnel-figure">
                      {formatCount(count)}
                      {i > 0 && <span class="muted"> · {formatPercent(fromPrevious)} of the step before</span>}
                    </span>
                  </div>
                  <div class="bar" aria-hidden="true">
                    <div class="bar-fill" style={{ width: `${Math.max(0, Math.min(1, share)) * 100}%` }} />
                  </div>
                </li>
              );
            })}
          </ol>
          <p class="funnel-total">
            Conversion rate: <strong>{formatPercent(totals.conversion_percent)}</strong> of sessions purchased
          </p>
        </>
      )}
    </section>
  );
});
