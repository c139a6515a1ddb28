import { useState, type FormEvent } from 'react';
import type { Webhook } from '@ocireg/web-api';
import { api, ApiError } from '../api';
import { ConfirmButton } from '../components/confirm-button';
import { CommandLine } from '../components/copy-button';
import { ErrorMessage, Loading } from '../components/feedback';
import { Breadcrumbs, Layout } from '../components/layout';
import { WebhookDeliveries } from '../components/webhook-deliveries';
import { paths } from '../router';
import { useApi } from '../use-api';

const EVENT_TYPES = ['image.pushed', 'tag.moved', 'tag.deleted', 'manifest.deleted', 'package.created', 'package.deleted', 'retention.applied', 'quota.nearly-full'];
const words = (value: string) => value.split(',').map((w) => w.trim()).filter(Boolean);

/** A workspace's webhooks (its admins): create (secret shown once), enable or disable, ping, rotate, delete, and each one's delivery log. */
export function WebhooksPage({ workspace }: { workspace: string }) {
  const { data, error, loading, reload } = useApi<'listWebhooks'>(`/workspaces/${encodeURIComponent(workspace)}/webhooks`);
  const [secret, setSecret] = useState<{ url: string; secret: string }>();
  const [open, setOpen] = useState<string>();
  const [failure, setFailure] = useState<Error>();
  const act = (work: Promise<unknown>) => work.then(reload, (err: Error) => setFailure(err));
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs items={[{ label: workspace, to: paths.workspace(workspace) }, { label: 'Webhooks' }]} />
      <h1>Webhooks of {workspace}</h1>
      <p>Signed CloudEvents POSTed to your URL when images are pushed, tags move or go, packages are created. Verify the X-Ocireg-Signature header with the secret (docs/webhooks.md).</p>
      <CreateWebhook
        workspace={workspace}
        onCreated={(created) => {
          setSecret(created);
          reload();
        }}
      />
      {secret && (
        <section className="panel" aria-labelledby="webhook-secret-title">
          <h2 id="webhook-secret-title">The signing secret of {secret.url}</h2>
          <p>Copy it now: it is shown this once.</p>
          <CommandLine command={secret.secret} label="Copy the secret" />
        </section>
      )}
      <ErrorMessage error={error ?? failure} />
      {loading && !data && <Loading what="webhooks" />}
      {data && data.webhooks.length === 0 && <p className="muted">No webhooks yet.</p>}
      {data?.webhooks.map((hook: Webhook) => (
        <section key={hook.id} className="panel" aria-label={`Webhook ${hook.url}`}>
          <h2>{hook.url}</h2>
          <p>
            {hook.enabled ? 'Enabled' : <strong>Disabled{hook.disabledReason ? `: ${hook.disabledReason}` : ''}</strong>} · events: {hook.eventTypes.join(', ') || 'all'} · packages: {hook.packagePatterns.join(', ') || 'all'}
            {hook.previousSecretUntil && ` · the previous secret signs too until ${new Date(hook.previousSecretUntil).toLocaleString()}`}
          </p>
          <p>
            <button type="button" className="small" onClick={() => act(api<'updateWebhook'>('PATCH', `/webhooks/${hook.id}`, { enabled: !hook.enabled }))}>
              {hook.enabled ? 'Disable' : 'Enable'}
            </button>{' '}
            <button type="button" className="small" onClick={() => act(api<'pingWebhook'>('POST', `/webhooks/${hook.id}/ping`).then(() => setOpen(hook.id)))}>
              Send a ping
            </button>{' '}
            <button type="button" className="small" onClick={() => act(api<'rotateWebhookSecret'>('POST', `/webhooks/${hook.id}/rotate-secret`, {}).then((r) => setSecret({ url: hook.url, secret: r.secret })))}>
              Rotate the secret
            </button>{' '}
            <button type="button" className="small" onClick={() => setOpen(open === hook.id ? undefined : hook.id)} aria-expanded={open === hook.id}>
              {open === hook.id ? 'Hide deliveries' : 'Show deliveries'}
            </button>{' '}
            <ConfirmButton label="Delete" title={`Delete the webhook ${hook.url}?`} confirmLabel="Delete webhook" onConfirm={() => api<'deleteWebhook'>('DELETE', `/webhooks/${hook.id}`).then(reload)}>
              <p>Its deliveries and their log go with it.</p>
            </ConfirmButton>
          </p>
          {open === hook.id && <WebhookDeliveries hookId={hook.id} />}
        </section>
      ))}
    </Layout>
  );
}

function CreateWebhook({ workspace, onCreated }: { workspace: string; onCreated: (created: { url: string; secret: string }) => void }) {
  const [url, setUrl] = useState('');
  const [types, setTypes] = useState<string[]>([]);
  const [patterns, setPatterns] = useState('');
  const [error, setError] = useState('');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError('');
    try {
      const created = await api<'createWebhook'>('POST', `/workspaces/${encodeURIComponent(workspace)}/webhooks`, { url, eventTypes: types, packagePatterns: words(patterns) });
      onCreated({ url: created.webhook.url, secret: created.secret });
      setUrl('');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <form className="panel" onSubmit={(e) => void submit(e)} aria-labelledby="create-webhook-title">
      <h2 id="create-webhook-title">Add a webhook</h2>
      <label>
        Target URL
        <input required type="url" maxLength={2000} value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://ci.example.com/hooks/registry" />
      </label>
      <fieldset>
        <legend>Events (none checked: every event)</legend>
        {EVENT_TYPES.map((type) => (
          <label key={type} className="check">
            <input type="checkbox" checked={types.includes(type)} onChange={(e) => setTypes(e.target.checked ? [...types, type] : types.filter((t) => t !== type))} /> {type}
          </label>
        ))}
      </fieldset>
      <label>
        Packages (comma-separated patterns; empty: every package)
        <input value={patterns} onChange={(e) => setPatterns(e.target.value)} placeholder="api, tools/*" />
      </label>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit">Add webhook</button>
    </form>
  );
}
