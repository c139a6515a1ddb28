import { useState, type FormEvent } from 'react';
import type { RetentionPreview } from '@ocireg/web-api';
import { api, ApiError } from '../api';
import { ConfirmButton } from '../components/confirm-button';
import { ErrorMessage, Loading } from '../components/feedback';
import { Breadcrumbs, Layout } from '../components/layout';
import { paths } from '../router';
import { useApi } from '../use-api';

const bytes = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`);

/**
 * A package's retention (docs/lifecycle-retention.md): the rules that reach it
 * from every level (where each comes from, opted-out ones marked), a rule of
 * the package's own, the preview (what would be deleted, the bytes freed, and
 * which rule keeps each kept tag) and the apply, confirmed in a dialog.
 */
export function RetentionPage({ workspace, name }: { workspace: string; name: string }) {
  const base = `/workspaces/${encodeURIComponent(workspace)}/retention`;
  const { data, error, loading, reload } = useApi<'getPackageRetention'>(`${base}?package=${encodeURIComponent(name)}`);
  const [preview, setPreview] = useState<RetentionPreview>();
  const [previewError, setPreviewError] = useState('');
  const [applied, setApplied] = useState('');
  const runPreview = async () => {
    setPreviewError('');
    setApplied('');
    try {
      setPreview((await api<'previewRetention'>('POST', `${base}/preview`, { package: name })).preview);
    } catch (err) {
      setPreviewError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs items={[{ label: workspace, to: paths.workspace(workspace) }, { label: name, to: paths.image(workspace, name) }, { label: 'Retention' }]} />
      <h1>Retention of {name}</h1>
      <p className="muted">Rules set on the workspace, the project, the source repository or this package apply here. Preview first: nothing is deleted until you apply.</p>
      <ErrorMessage error={error} />
      {loading && !data && <Loading what="retention rules" />}
      {data && data.rules.length === 0 && <p>No retention rule reaches this package: nothing is deleted by rule.</p>}
      {data && data.rules.length > 0 && (
        <table>
          <caption>Effective rules</caption>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Set on</th>
              <th scope="col">Applies</th>
              <th scope="col">Id</th>
            </tr>
          </thead>
          <tbody>
            {data.rules.map((r) => (
              <tr key={r.id}>
                <td>{r.description}</td>
                <td>
                  {r.level} {r.scopeName}
                </td>
                <td>{r.optedOutAt ? `no: opted out at ${r.optedOutAt}` : 'yes'}</td>
                <td>
                  <code>{r.id.slice(0, 8)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CreateRuleForm workspace={workspace} name={name} onCreated={() => { reload(); setPreview(undefined); }} />
      <section className="panel" aria-labelledby="preview-title">
        <h2 id="preview-title">Preview</h2>
        <button type="button" onClick={() => void runPreview()}>
          Preview retention
        </button>
        {previewError && (
          <p className="error" role="alert">
            {previewError}
          </p>
        )}
        {preview && <PreviewTables preview={preview} />}
        {preview && preview.deleteTagsTotal + preview.deleteManifestsTotal > 0 && (
          <ConfirmButton
            label="Apply retention"
            title={`Apply retention to ${name}`}
            confirmLabel={`Delete ${preview.deleteTagsTotal} tags and ${preview.deleteManifestsTotal} manifests`}
            onConfirm={async () => {
              const result = await api<'applyRetention'>('POST', `${base}/apply`, { package: name, confirm: preview.needsConfirmation });
              setApplied(`Deleted ${result.deletedTags.length} tags and ${result.deletedManifests.length} manifests${result.skipped.length ? `; ${result.skipped.length} kept after all (pushed since, or immutable)` : ''}.`);
              setPreview(undefined);
            }}
          >
            <p>
              This deletes {preview.deleteTagsTotal} of {preview.tagsTotal} tags and {preview.deleteManifestsTotal} manifests, about {bytes(preview.bytes)}.
              {preview.needsConfirmation && ' That is more than the threshold of the tags: you confirm it here.'} A tag pushed since the preview is never deleted.
            </p>
          </ConfirmButton>
        )}
        {applied && <p role="status">{applied}</p>}
      </section>
    </Layout>
  );
}

function PreviewTables({ preview }: { preview: RetentionPreview }) {
  return (
    <>
      <p role="status">
        Would delete {preview.deleteTagsTotal} of {preview.tagsTotal} tags and {preview.deleteManifestsTotal} manifests, freeing about {bytes(preview.bytes)}
        {preview.needsConfirmation ? ' (more than the threshold: applying needs a confirmation)' : ''}.
      </p>
      <table>
        <caption>Tags</caption>
        <thead>
          <tr>
            <th scope="col">Tag</th>
            <th scope="col">Pushed</th>
            <th scope="col">Outcome</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {preview.tags.map((t) => (
            <tr key={t.name}>
              <td>{t.name}</td>
              <td>{t.updatedAt}</td>
              <td>{t.delete ? 'deleted' : 'kept'}</td>
              <td>{t.why}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {preview.deleteManifests.length > 0 && (
        <table>
          <caption>Manifests deleted</caption>
          <thead>
            <tr>
              <th scope="col">Digest</th>
              <th scope="col" className="number">
                Size
              </th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {preview.deleteManifests.map((m) => (
              <tr key={m.digest}>
                <td>
                  <code>{m.digest.slice(0, 19)}</code>
                </td>
                <td className="number">{bytes(m.size)}</td>
                <td>{m.why}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/**
 * A new rule, set on this package or on a level above it (its source
 * repository, its project, the workspace); the server checks the caller's
 * role for that level (repository Admins, workspace admins).
 */
function CreateRuleForm({ workspace, name, onCreated }: { workspace: string; name: string; onCreated: () => void }) {
  const overview = useApi<'imageOverview'>(`/workspaces/${encodeURIComponent(workspace)}/images/${encodeURIComponent(name)}/-/overview`);
  const repository = overview.data?.sourceRepository;
  const empty = { level: 'package', kind: 'keep-latest', pattern: '*', count: '10', days: '30' };
  const [form, setForm] = useState(empty);
  const [error, setError] = useState('');
  const set = (field: keyof typeof empty) => (event: { target: { value: string } }) => setForm({ ...form, [field]: event.target.value });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError('');
    try {
      await api<'createRetentionRule'>('POST', `/workspaces/${encodeURIComponent(workspace)}/retention/rules`, {
        level: form.level as 'workspace' | 'project' | 'source-repository' | 'package',
        package: form.level === 'package' ? name : '',
        sourceRepositoryId: form.level === 'source-repository' ? (repository?.id ?? '') : '',
        project: form.level === 'project' ? (repository?.projectSlug ?? '') : '',
        kind: form.kind,
        pattern: form.kind === 'delete-untagged' ? '' : form.pattern,
        count: form.kind === 'keep-latest' ? Number(form.count) : 0,
        days: form.kind === 'keep-recent' || form.kind === 'delete-untagged' ? Number(form.days) : 0,
      });
      onCreated();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <section className="panel" aria-labelledby="add-rule-title">
      <h2 id="add-rule-title">Add a rule</h2>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Set on
          <select value={form.level} onChange={set('level')}>
            <option value="package">This package</option>
            {repository && <option value="source-repository">Source repository {repository.projectSlug}/{repository.slug} (every package linked to it)</option>}
            {repository && <option value="project">Project {repository.projectSlug} (every package of its source repositories)</option>}
            <option value="workspace">Workspace {workspace} (every package)</option>
          </select>
        </label>
        <label>
          Kind
          <select value={form.kind} onChange={set('kind')}>
            <option value="keep-latest">Keep the N most recently pushed tags matching a pattern</option>
            <option value="keep-recent">Keep tags pushed or pulled within D days</option>
            <option value="protect">Always keep tags matching a pattern</option>
            <option value="delete-untagged">Delete untagged manifests after D days</option>
          </select>
        </label>
        {form.kind !== 'delete-untagged' && (
          <label>
            Tag pattern (* any run, ? one character)
            <input value={form.pattern} onChange={set('pattern')} />
          </label>
        )}
        {form.kind === 'keep-latest' && (
          <label>
            How many to keep
            <input type="number" min={1} value={form.count} onChange={set('count')} />
          </label>
        )}
        {(form.kind === 'keep-recent' || form.kind === 'delete-untagged') && (
          <label>
            Days
            <input type="number" min={1} value={form.days} onChange={set('days')} />
          </label>
        )}
        <button type="submit">Add rule</button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
