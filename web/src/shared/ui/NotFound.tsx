import { BASE } from '../router';
import { PageHeading } from './PageHeading';

/** "Not found", inside a page that already has its `<main>`. */
export function NotFoundContent({ what = 'page' }: { what?: string }) {
  return (
    <>
      <PageHeading title="Not found" />
      <p>There is no such {what} here.</p>
      <p>
        <a href={`${BASE}/`}>Go to the start page</a>
      </p>
    </>
  );
}

export function NotFound() {
  return (
    <main id="main" class="page narrow">
      <NotFoundContent />
    </main>
  );
}
