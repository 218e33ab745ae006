// The loading, empty and error states every panel shows.
import type { ComponentChildren } from 'preact';
import { type ApiProblem, sentence } from '../problem';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="state state-loading" role="status">
      {label}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state state-empty">{children}</p>;
}

/** An error in words, with a retry button naming what it retries. */
export function ErrorState({ error, onRetry, what }: { error: ApiProblem; onRetry: () => void; what: string }) {
  return (
    <div class="state state-error" role="alert">
      <p>{error.humanMessage}</p>
      {error.extraFieldErrors.length > 0 && (
        <ul>
          {error.extraFieldErrors.map((e) => (
            <li key={e.field}>
              {e.field}: {sentence(e.detail)}
            </li>
          ))}
        </ul>
      )}
      <button type="button" class="button" onClick={onRetry}>
        Retry<span class="sr-only"> loading {what}</span>
      </button>
    </div>
  );
}
