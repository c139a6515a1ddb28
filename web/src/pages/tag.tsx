import { Fragment } from 'react';
import type { ConfigFacts, Manifest } from '@ocireg/web-api';
import { imagePath } from '../api';
import { CommandLine } from '../components/copy-button';
import { ErrorMessage, Loading } from '../components/feedback';
import { LastPulled } from '../components/last-pulled';
import { Breadcrumbs, Layout } from '../components/layout';
import { formatBytes, platformText, registryHost, shortDigest } from '../format';
import { paths } from '../router';
import { useApi } from '../use-api';

/** A tag: its manifest, whether it is signed and what is attached to it, layers with sizes, and what the image's config says (created, OS/arch, entrypoint, labels). */
export function TagPage({ workspace, name, tag }: { workspace: string; name: string; tag: string }) {
  const details = useApi<'getTag'>(`${imagePath(workspace, name)}/-/tags/${encodeURIComponent(tag)}`);
  const manifest = details.data?.manifest;
  const referrers = details.data?.referrers ?? [];
  const signatures = referrers.filter((r) => r.kind === 'signature' && r.subject === manifest?.digest);
  // An index: the config facts of its first image entry.
  const imageDigest = manifest ? (manifest.kind === 'index' ? manifest.children.find((c) => c.kind === 'image')?.digest : manifest.digest) : undefined;
  const document = useApi<'getManifest'>(manifest ? `${imagePath(workspace, name)}/-/manifests/${manifest.digest}` : null);
  const imageDocument = useApi<'getManifest'>(imageDigest && manifest && imageDigest !== manifest.digest ? `${imagePath(workspace, name)}/-/manifests/${imageDigest}` : null);
  const config = (imageDocument.data ?? document.data)?.config;
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs items={[{ label: workspace, to: paths.workspace(workspace) }, { label: name, to: paths.image(workspace, name) }, { label: tag }]} />
      <h1>
        {name}:{tag}
        {manifest?.signed && <span className="badge signed">signed</span>}
      </h1>
      <ErrorMessage error={details.error} />
      {details.loading && !details.data && <Loading what="the tag" />}
      {manifest && (
        <>
          <CommandLine command={`docker pull ${registryHost()}/${workspace}/${name}:${tag}`} label="Copy the pull command" />
          <dl className="facts">
            <dt>Digest</dt>
            <dd>
              <code>{manifest.digest}</code>
            </dd>
            <dt>Kind</dt>
            <dd>{manifest.kind}</dd>
            <dt>Media type</dt>
            <dd>{manifest.mediaType}</dd>
            <dt>Size</dt>
            <dd>{formatBytes(manifest.size)}</dd>
            <dt>Platforms</dt>
            <dd>{manifest.platforms.map(platformText).join(', ') || '—'}</dd>
            <dt>Pushed</dt>
            <dd>{manifest.pushedAt}</dd>
            <dt>Last pulled</dt>
            <dd>
              <LastPulled at={details.data?.tag?.lastPulledAt ?? ''} />
              {details.data?.tag && manifest.lastPulledAt && manifest.lastPulledAt !== details.data.tag.lastPulledAt && <span className="muted"> (its manifest, by any tag or digest: <LastPulled at={manifest.lastPulledAt} />)</span>}
            </dd>
            <dt>Signed</dt>
            <dd>{manifest.signed ? `yes (${signatures.length} ${signatures.length === 1 ? 'signature' : 'signatures'})` : 'no'}</dd>
          </dl>
          <Referrers referrers={referrers} />
          {config && <ConfigSection config={config} />}
          {manifest.kind === 'index' && (
            <section aria-labelledby="entries-title">
              <h2 id="entries-title">Platforms (index entries)</h2>
              <table>
                <caption>Entries of the index</caption>
                <thead>
                  <tr>
                    <th scope="col">Platform</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Digest</th>
                    <th scope="col" className="number">
                      Size
                    </th>
                    <th scope="col">Last pulled</th>
                  </tr>
                </thead>
                <tbody>
                  {manifest.children.map((child) => (
                    <tr key={child.digest}>
                      <td>{child.platforms.map(platformText).join(', ') || '—'}</td>
                      <td>{child.kind}</td>
                      <td>
                        <code title={child.digest}>{shortDigest(child.digest)}</code>
                      </td>
                      <td className="number">{formatBytes(child.size)}</td>
                      <td>
                        <LastPulled at={child.lastPulledAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          )}
          <Layers manifest={manifest.kind === 'index' ? manifest.children.find((c) => c.kind === 'image') : manifest} />
          <section aria-labelledby="manifest-title">
            <h2 id="manifest-title">Manifest</h2>
            {document.data?.manifest ? <pre className="json">{JSON.stringify(document.data.manifest, null, 2)}</pre> : document.data ? <p className="muted">Too large to show ({formatBytes(document.data.size)}).</p> : <Loading what="the manifest" />}
          </section>
        </>
      )}
    </Layout>
  );
}

/** Signatures, attestations and SBOMs: OCI 1.1 referrers and what cosign stored under the digest's .sig/.att/.sbom tags. */
function Referrers({ referrers }: { referrers: Manifest[] }) {
  if (referrers.length === 0) return null;
  return (
    <section aria-labelledby="referrers-title">
      <h2 id="referrers-title">Signatures, attestations and SBOMs</h2>
      <table>
        <caption>{referrers.length} attached</caption>
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">About</th>
            <th scope="col">Type</th>
            <th scope="col">Digest</th>
            <th scope="col">Tags</th>
          </tr>
        </thead>
        <tbody>
          {referrers.map((r) => (
            <tr key={r.digest}>
              <td>{r.kind}</td>
              <td>
                <code title={r.subject}>{shortDigest(r.subject)}</code>
              </td>
              <td>{r.artifactType || r.layers[0]?.mediaType || r.mediaType}</td>
              <td>
                <code title={r.digest}>{shortDigest(r.digest)}</code>
              </td>
              <td>
                {r.tags.length === 0
                  ? '—'
                  : r.tags.map((t, i) => (
                      <Fragment key={t}>
                        {i > 0 && ', '}
                        <code title={t}>{shortTag(t)}</code>
                      </Fragment>
                    ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** cosign's tags name a whole digest (sha256-<64 hex>.sig): shown like short digests, the full tag in the title. */
function shortTag(tag: string): string {
  return tag.replace(/^(sha(?:256|512)-[0-9a-f]{12})[0-9a-f]+/, '$1…');
}

function Layers({ manifest }: { manifest: Manifest | undefined }) {
  if (!manifest || manifest.layers.length === 0) return null;
  const total = manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
  return (
    <section aria-labelledby="layers-title">
      <h2 id="layers-title">Layers</h2>
      <table>
        <caption>
          {manifest.layers.length} layers, {formatBytes(total)} compressed
        </caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Digest</th>
            <th scope="col">Media type</th>
            <th scope="col" className="number">
              Size
            </th>
          </tr>
        </thead>
        <tbody>
          {manifest.layers.map((layer, index) => (
            <tr key={`${layer.digest}-${index}`}>
              <td>{index + 1}</td>
              <td>
                <code title={layer.digest}>{shortDigest(layer.digest)}</code>
              </td>
              <td>{layer.mediaType}</td>
              <td className="number">{formatBytes(layer.size)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function ConfigSection({ config }: { config: ConfigFacts }) {
  const labels = Object.entries(config.labels);
  return (
    <section aria-labelledby="config-title">
      <h2 id="config-title">Image configuration</h2>
      <dl className="facts">
        <dt>Created</dt>
        <dd>{config.created || '—'}</dd>
        <dt>OS / architecture</dt>
        <dd>{platformText(config) || '—'}</dd>
        <dt>Entrypoint</dt>
        <dd>{config.entrypoint.length ? <code>{JSON.stringify(config.entrypoint)}</code> : '—'}</dd>
        <dt>Command</dt>
        <dd>{config.cmd.length ? <code>{JSON.stringify(config.cmd)}</code> : '—'}</dd>
        <dt>Working directory</dt>
        <dd>{config.workingDir || '—'}</dd>
        <dt>User</dt>
        <dd>{config.user || '—'}</dd>
        <dt>Exposed ports</dt>
        <dd>{config.exposedPorts.join(', ') || '—'}</dd>
        <dt>Build steps</dt>
        <dd>{config.historySteps}</dd>
      </dl>
      <h3>Labels</h3>
      {labels.length === 0 ? (
        <p className="muted">No labels.</p>
      ) : (
        <dl className="facts">
          {labels.map(([key, value]) => (
            <div key={key}>
              <dt>{key}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}
