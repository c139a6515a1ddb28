import type { ApiError } from '../api';
import type { IndexingStatus } from '@ocireg/web-api';

export function ErrorMessage({ error }: { error: ApiError | Error | undefined }) {
  if (!error) return null;
  const notFound = 'status' in error && error.status === 404;
  return (
    <p className="error" role="alert">
      {notFound ? 'Not found: it does not exist, or you have no role that lets you see it.' : error.message}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** Listings come from a read model that follows pushes a moment later: say so while it catches up. */
export function IndexingNotice({ indexing }: { indexing: IndexingStatus | undefined }) {
  if (indexing && !indexing.reachable) {
    return (
      <p className="notice" role="status">
        Listings are not updating right now (the indexer cannot be reached): recent pushes and deletes may be missing here. Pulls and pushes are not affected.
      </p>
    );
  }
  if (!indexing || indexing.pendingEvents === 0) return null;
  return (
    <p className="notice" role="status">
      Catching up with {indexing.pendingEvents} recent change{indexing.pendingEvents === 1 ? '' : 's'} (pushes, tags, deletes): this list updates by itself in a moment.
    </p>
  );
}
