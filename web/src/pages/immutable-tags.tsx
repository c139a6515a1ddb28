import { useState, type FormEvent } from 'react';
import type { ImmutableTagRule, SourceRepository } from '@ocireg/web-api';
import { api, ApiError, imagePath } from '../api';
import { ConfirmButton } from '../components/confirm-button';
import { ErrorMessage, Loading } from '../components/feedback';
import { Breadcrumbs, Layout } from '../components/layout';
import { timeAgo } from '../format';
import { paths } from '../router';
import { useApi } from '../use-api';

type Level = ImmutableTagRule['level'];
const LEVEL_NAMES: Record<Level, string> = { workspace: 'Workspace', project: 'Project', source_repository: 'Source repository', package: 'Package' };

/**
 * Immutable tag rules of a workspace (docs/lifecycle-immutable.md): every
 * rule the caller may see, at each level; who may change a level's rules
 * deletes them and adds new ones; and the rules in effect for one package.
 */
export function ImmutableTagsPage({ workspace }: { workspace: string }) {
  const base = `/workspaces/${encodeURIComponent(workspace)}`;
  const { data, error, loading, reload } = useApi<'listImmutableTagRules'>(`${base}/immutable-tag-rules`);
  const { data: ws } = useApi<'getWorkspace'>(base);
  const { data: repositories } = useApi<'listSourceRepositories'>(`${base}/repositories?page_size=500`);
  const workspaceAdmin = ws?.callerIsAdmin ?? false;
  const adminOf = new Set((repositories?.sourceRepositories ?? []).filter((r) => r.callerRole === 'admin').map((r) => r.id));
  const mayDelete = (rule: ImmutableTagRule) => workspaceAdmin || (rule.level === 'source_repository' && adminOf.has(rule.sourceRepositoryId));
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs items={[{ label: workspace, to: paths.workspace(workspace) }, { label: 'Immutable tags' }]} />
      <h1>Immutable tags of {workspace}</h1>
      <p className="muted">
        A tag that matches a rule in effect for its package can be pushed once, and again with the same digest, but never moved to another digest or deleted (nor the manifest or image it points to) — by anyone. Patterns are globs over the whole tag: <code>*</code> matches any characters, <code>?</code> one; <code>*</code> alone matches every tag.
      </p>
      <ErrorMessage error={error} />
      {loading && !data && <Loading what="immutable tag rules" />}
      {data && data.rules.length === 0 && <p>No immutable tag rules yet.</p>}
      {data && data.rules.length > 0 && <RulesTable caption="Immutable tag rules" rules={data.rules} mayDelete={mayDelete} onDeleted={reload} />}
      {ws && repositories && (workspaceAdmin || adminOf.size > 0) && <CreateRuleForm key={String(workspaceAdmin)} workspace={workspace} workspaceAdmin={workspaceAdmin} repositories={repositories.sourceRepositories} onCreated={reload} />}
      <EffectiveRulesLookup workspace={workspace} />
    </Layout>
  );
}

function RulesTable({ caption, rules, mayDelete, onDeleted }: { caption: string; rules: ImmutableTagRule[]; mayDelete?: (rule: ImmutableTagRule) => boolean; onDeleted?: () => void }) {
  const actions = mayDelete !== undefined && rules.some(mayDelete);
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Pattern</th>
          <th scope="col">Level</th>
          <th scope="col">Set on</th>
          <th scope="col">Created</th>
          {actions && <th scope="col">Actions</th>}
        </tr>
      </thead>
      <tbody>
        {rules.map((rule) => (
          <tr key={rule.id}>
            <td>
              <code>{rule.pattern}</code>
            </td>
            <td>{LEVEL_NAMES[rule.level]}</td>
            <td>{rule.scopeName}</td>
            <td>{timeAgo(rule.createdAt)}</td>
            {actions && (
              <td>
                {mayDelete!(rule) && (
                  <ConfirmButton
                    label={`Delete rule ${rule.pattern} of ${rule.scopeName}`}
                    title={`Delete the immutable tag rule ${rule.pattern} of ${rule.scopeName}`}
                    confirmLabel="Delete rule"
                    onConfirm={async () => {
                      await api<'deleteImmutableTagRule'>('DELETE', `/workspaces/${encodeURIComponent(rule.workspaceSlug)}/immutable-tag-rules/${encodeURIComponent(rule.id)}`);
                      onDeleted?.();
                    }}
                  >
                    <p>Tags this rule protected can be moved and deleted again (unless another rule protects them).</p>
                  </ConfirmButton>
                )}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A new rule: workspace and project rules for workspace admins, source repository and package rules for the repository's Admins too. */
function CreateRuleForm({ workspace, workspaceAdmin, repositories, onCreated }: { workspace: string; workspaceAdmin: boolean; repositories: SourceRepository[]; onCreated: () => void }) {
  const levels: Level[] = workspaceAdmin ? ['workspace', 'project', 'source_repository', 'package'] : ['source_repository', 'package'];
  const empty = { level: levels[0]!, pattern: '', project: '', sourceRepositoryId: '', package: '' };
  const [form, setForm] = useState(empty);
  const [error, setError] = useState('');
  const [created, setCreated] = useState('');
  const projects = [...new Set(repositories.map((r) => r.projectSlug))].sort();
  const choosable = workspaceAdmin ? repositories : repositories.filter((r) => r.callerRole === 'admin');
  const set = (field: keyof typeof empty) => (event: { target: { value: string } }) => setForm({ ...form, [field]: event.target.value });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError('');
    setCreated('');
    try {
      const { rule } = await api<'createImmutableTagRule'>('POST', `/workspaces/${encodeURIComponent(workspace)}/immutable-tag-rules`, form);
      setForm({ ...empty, level: form.level });
      setCreated(`Rule ${rule.pattern} added to ${rule.scopeName}.`);
      onCreated();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <section className="panel" aria-labelledby="add-rule-title">
      <h2 id="add-rule-title">Add an immutable tag rule</h2>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Tag pattern
          <input required value={form.pattern} onChange={set('pattern')} placeholder="v*" maxLength={128} />
        </label>
        <label>
          Level
          <select value={form.level} onChange={set('level')}>
            {levels.map((level) => (
              <option key={level} value={level}>
                {LEVEL_NAMES[level]}
              </option>
            ))}
          </select>
        </label>
        {form.level === 'project' && (
          <label>
            Project
            <select required value={form.project} onChange={set('project')}>
              <option value="">Choose a project</option>
              {projects.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
        )}
        {form.level === 'source_repository' && (
          <label>
            Source repository
            <select required value={form.sourceRepositoryId} onChange={set('sourceRepositoryId')}>
              <option value="">Choose a repository</option>
              {choosable.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.projectSlug}/{r.slug}
                </option>
              ))}
            </select>
          </label>
        )}
        {form.level === 'package' && (
          <label>
            Package name
            <input required value={form.package} onChange={set('package')} placeholder="api/server" />
          </label>
        )}
        <button type="submit">Add rule</button>
      </form>
      {created && <p role="status">{created}</p>}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

/** The rules in effect for a package named in a small form. */
function EffectiveRulesLookup({ workspace }: { workspace: string }) {
  const [name, setName] = useState('');
  const [shown, setShown] = useState('');
  return (
    <section className="panel" aria-labelledby="effective-rules-title">
      <h2 id="effective-rules-title">Rules in effect for a package</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setShown(name.trim());
        }}
      >
        <label>
          Package name
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit">Show rules</button>
      </form>
      {shown && <EffectiveImmutableRules key={shown} workspace={workspace} name={shown} />}
    </section>
  );
}

/** The immutable tag rules in effect for a package, each with the level it comes from (also shown on the image page). */
export function EffectiveImmutableRules({ workspace, name }: { workspace: string; name: string }) {
  const { data, error, loading } = useApi<'getEffectiveImmutableTagRules'>(`${imagePath(workspace, name)}/-/immutable-tag-rules`);
  return (
    <div>
      <ErrorMessage error={error} />
      {loading && !data && <Loading what="immutable tag rules" />}
      {data && data.rules.length === 0 && <p>No immutable tag rules apply to {name}: every tag can be moved and deleted.</p>}
      {data && data.rules.length > 0 && <RulesTable caption={`Immutable tag rules in effect for ${name}`} rules={data.rules} />}
    </div>
  );
}
