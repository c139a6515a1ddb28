import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api';
import { Breadcrumbs, Layout } from '../components/layout';
import { navigate, paths } from '../router';
import { useApi } from '../use-api';

/** Create › Package: a name and the repository to link to (only repositories the user is Admin of). */
export function CreatePackagePage({ workspace }: { workspace: string }) {
  const { data } = useApi<'listSourceRepositories'>(`/workspaces/${encodeURIComponent(workspace)}/repositories`);
  const adminOf = data?.sourceRepositories.filter((r) => r.callerRole === 'admin') ?? [];
  const [name, setName] = useState('');
  const [sourceRepositoryId, setRepositoryId] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      await api<'createPackage'>('POST', `/workspaces/${encodeURIComponent(workspace)}/packages`, { name: name.trim(), sourceRepositoryId: sourceRepositoryId || adminOf[0]?.id });
      navigate(paths.image(workspace, name.trim()));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs items={[{ label: workspace, to: paths.workspace(workspace) }, { label: 'Create package' }]} />
      <h1>Create a package</h1>
      {data && adminOf.length === 0 ? (
        <p>Only Admins of a repository create packages, and you are Admin of none in {workspace}.</p>
      ) : (
        <form className="narrow" onSubmit={(e) => void submit(e)}>
          <label>
            Package name
            <input required value={name} onChange={(e) => setName(e.target.value)} pattern="[a-z0-9]+([._\-][a-z0-9]+)*(/[a-z0-9]+([._\-][a-z0-9]+)*)*" aria-describedby="name-help" />
          </label>
          <p id="name-help" className="muted">
            Lowercase, with / between path components, e.g. tools/api. Images are then pushed as {location.host}/{workspace}/{name || '<name>'}:&lt;tag&gt;.
          </p>
          <label>
            Repository to link to
            <select required value={sourceRepositoryId || adminOf[0]?.id || ''} onChange={(e) => setRepositoryId(e.target.value)}>
              {adminOf.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.projectSlug}/{r.slug}
                </option>
              ))}
            </select>
          </label>
          <p className="muted">The package inherits the repository's members and roles.</p>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="primary" disabled={busy}>
            Submit
          </button>
        </form>
      )}
    </Layout>
  );
}
