import { useState, type FormEvent } from 'react';
import type { AuditEntry } from '@ocireg/web-api';
import { ErrorMessage, Loading } from '../components/feedback';
import { Breadcrumbs, Layout } from '../components/layout';
import { Pager } from '../components/pager';
import { timeAgo } from '../format';
import { paths } from '../router';
import { useApi } from '../use-api';

const FILTERS = ['actor', 'action', 'target', 'outcome', 'since', 'until'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;
const NONE: Filters = { actor: '', action: '', target: '', outcome: '', since: '', until: '' };

/** Who an entry names: the user's email (or id), the service, and the token or session behind it. */
function who(entry: AuditEntry): string {
  const person = entry.actor.email || entry.actor.userId || entry.actor.service || 'unknown';
  return entry.actor.tokenId ? `${person} (token ${entry.actor.tokenId.slice(0, 8)})` : person;
}

const summary = (value: Record<string, unknown> | null) => (value ? JSON.stringify(value) : '—');

/**
 * The audit log (docs/audit.md): a workspace's (its admins) or every entry
 * (operators, at /audit), newest first, with filters, pages and an export of
 * every matching entry as JSON lines.
 */
export function AuditPage({ workspace }: { workspace?: string }) {
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const [tokens, setTokens] = useState<string[]>(['']);
  const query = new URLSearchParams({ ...(workspace ? { workspace } : {}), ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v)) });
  const page = new URLSearchParams(query);
  page.set('page_size', '50');
  if (tokens.at(-1)) page.set('page_token', tokens.at(-1)!);
  const { data, error, loading } = useApi<'listAuditEntries'>(`/audit?${page.toString()}`);
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
    setTokens(['']);
  };
  const field = (name: keyof Filters, label: string, placeholder: string) => (
    <label>
      {label}
      <input value={draft[name]} onChange={(e) => setDraft({ ...draft, [name]: e.target.value })} placeholder={placeholder} maxLength={200} />
    </label>
  );
  return (
    <Layout workspace={workspace}>
      {workspace && <Breadcrumbs items={[{ label: workspace, to: paths.workspace(workspace) }, { label: 'Audit log' }]} />}
      <h1>Audit log{workspace ? ` of ${workspace}` : ''}</h1>
      <p>Every change: who made it, from where, and what it was before and after. {workspace ? "The workspace's admins read it." : 'Operators read every workspace’s.'}</p>
      <form className="panel" onSubmit={apply} aria-labelledby="audit-filters-title">
        <h2 id="audit-filters-title">Filters</h2>
        {field('actor', 'User', 'email or id')}
        {field('action', 'Action', 'tag.deleted, token.*')}
        {field('target', 'Target', `${workspace ?? 'acme'}/api:v1`)}
        <label>
          Outcome
          <select value={draft.outcome} onChange={(e) => setDraft({ ...draft, outcome: e.target.value })}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
          </select>
        </label>
        {field('since', 'Since', '2026-01-31')}
        {field('until', 'Until', '2026-02-01T12:00:00Z')}
        <button type="submit">Show</button>{' '}
        <a href={`/api/v1/audit/export?${query.toString()}`} download="audit-log.jsonl">
          Export as JSON lines
        </a>
      </form>
      <ErrorMessage error={error} />
      {loading && !data && <Loading what="audit entries" />}
      {data && data.entries.length === 0 && <p className="muted">No entries match.</p>}
      {data && data.entries.length > 0 && (
        <table>
          <caption>Audit entries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">From</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {data.entries.map((entry) => (
              <tr key={entry.id}>
                <td>
                  <time dateTime={entry.at} title={entry.at}>
                    {timeAgo(entry.at)}
                  </time>
                </td>
                <td>{who(entry)}</td>
                <td>
                  {entry.action}
                  {entry.outcome === 'failure' && <strong> (refused)</strong>}
                </td>
                <td>{entry.target.name || entry.target.id}</td>
                <td>
                  {entry.channel || 'service'} {entry.clientAddress}
                </td>
                <td>
                  <code>{summary(entry.before)}</code>
                </td>
                <td>
                  <code>{summary(entry.after)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager label="Audit log pages" tokens={tokens} setTokens={setTokens} nextPageToken={data?.nextPageToken || undefined} />
    </Layout>
  );
}
