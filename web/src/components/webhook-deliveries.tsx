import { useState } from 'react';
import { api } from '../api';
import { ErrorMessage, Loading } from './feedback';
import { Pager } from './pager';
import { timeAgo } from '../format';
import { useApi } from '../use-api';

/** A hook's delivery log: each event, its state, every attempt (status, latency, first bytes of the answer), redeliver. */
export function WebhookDeliveries({ hookId }: { hookId: string }) {
  const [tokens, setTokens] = useState<string[]>(['']);
  const page = tokens.at(-1) ? `&page_token=${encodeURIComponent(tokens.at(-1)!)}` : '';
  const { data, error, loading, reload } = useApi<'listWebhookDeliveries'>(`/webhooks/${hookId}/deliveries?page_size=20${page}`, 5000);
  const [failure, setFailure] = useState<Error>();
  return (
    <section aria-label="Deliveries">
      <ErrorMessage error={error ?? failure} />
      {loading && !data && <Loading what="deliveries" />}
      {data && data.deliveries.length === 0 && <p className="muted">No deliveries yet.</p>}
      {data && data.deliveries.length > 0 && (
        <table>
          <caption>Deliveries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">State</th>
              <th scope="col">Last attempt</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.deliveries.map((d) => {
              const last = d.attemptLog.at(-1);
              return (
                <tr key={d.id}>
                  <td>
                    <time dateTime={d.createdAt}>{timeAgo(d.createdAt)}</time>
                  </td>
                  <td>
                    {d.eventType} <code className="muted">{d.eventId.slice(0, 8)}</code>
                  </td>
                  <td>
                    {d.state}
                    {d.attempts > 1 ? ` (${d.attempts} attempts)` : ''}
                  </td>
                  <td>{last ? `${last.statusCode || 'no answer'} in ${last.latencyMs} ms${last.error ? `: ${last.error}` : ''}${last.responseHead ? ` — ${last.responseHead.slice(0, 80)}` : ''}` : '—'}</td>
                  <td>
                    <button type="button" className="small" onClick={() => api<'redeliverWebhookDelivery'>('POST', `/webhooks/${hookId}/deliveries/${d.id}/redeliver`).then(reload, setFailure)}>
                      Redeliver
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <Pager label="Delivery pages" tokens={tokens} setTokens={setTokens} nextPageToken={data?.nextPageToken || undefined} />
    </section>
  );
}
