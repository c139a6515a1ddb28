import { timeAgo } from '../format';

/**
 * When a tag or manifest was last pulled (issue 24): "3 days ago", the exact
 * time in the title, or "never". Times arrive in batches from the gateways
 * (every PULL_FLUSH_SECONDS), so a pull shows up here within about that long.
 */
export function LastPulled({ at }: { at: string }) {
  if (!at) return <span className="muted">never</span>;
  return (
    <time dateTime={at} title={at}>
      {timeAgo(at)}
    </time>
  );
}
