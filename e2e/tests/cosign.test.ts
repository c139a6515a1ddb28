import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { Cosign } from './cosign';
import { basicAuth, loginNewWorkspace, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';
import { eventually } from './polling';

interface ListedManifest {
  digest: string;
  kind: string;
  subject: string;
  tags: string[];
  signed: boolean;
}

interface ListedTag {
  tag: string;
  digest: string;
  manifest: ListedManifest | null;
  referrers: ListedManifest[];
}

/**
 * The real cosign signs and attests an image in the registry (stored, as
 * cosign does where it does not use the referrers API, under the tags
 * sha256-<hex>.sig and .att), verifies both, and the listings show them under
 * the image they are about: not among its tags, the image marked signed. The
 * OCI tags list keeps naming them, and they stay pullable by tag.
 */
describe('cosign sign, verify, attest and verify-attestation through the gateway', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let oci: OciHttp;
  let cosign: Cosign;

  beforeAll(async () => {
    registry = await startTestRegistry();
    // cosign reads docker's credentials: the Admin's email and API token.
    workspace = await loginNewWorkspace(registry, 'cosign');
    oci = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
    cosign = await Cosign.withNewKeys();
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
  });

  it('signs and attests, verifies both, and the listings fold the .sig and .att tags under the signed image', async () => {
    const name = 'signed/app';
    const repository = `${workspace.slug}/${name}`;
    const signed = await oci.pushImage(repository, 'v1');
    const unsigned = await oci.pushImage(repository, 'v2');
    const image = `${registry.registryHost}/${repository}`;
    const stem = signed.manifest.digest.replace(':', '-');

    await cosign.sign(`${image}@${signed.manifest.digest}`);
    // By tag too: cosign resolves v1 to its digest and finds the signature under sha256-<hex>.sig.
    const verified = await cosign.verify(`${image}:v1`);
    expect(verified).toContain('The signatures were verified against the specified public key');
    expect(verified).toContain(signed.manifest.digest);
    // Nothing outside the registry was asked: no transparency log, no TUF repository.
    expect(verified).not.toMatch(/TUF|rekor\.sigstore|Could not fetch/i);
    await expect(cosign.verify(`${image}:v2`)).rejects.toThrow(/no signatures found|no matching signatures/);
    const stranger = await Cosign.withNewKeys();
    await expect(stranger.verify(`${image}:v1`)).rejects.toThrow(/no matching signatures|failed to verify/);

    const predicate = { builder: { id: 'https://ci.ocireg.test/builder' }, buildType: 'https://ocireg.test/build/v1', invocation: { configSource: {} } };
    await cosign.attest(`${image}@${signed.manifest.digest}`, predicate, 'slsaprovenance');
    const attestations = await cosign.verifyAttestation(`${image}:v1`, 'slsaprovenance');
    const envelope = JSON.parse(attestations.split('\n').find((line) => line.startsWith('{"payloadType"'))!) as { payload: string };
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as { predicateType: string; subject: Array<{ digest: { sha256: string } }>; predicate: typeof predicate };
    expect(statement).toMatchObject({ predicateType: 'https://slsa.dev/provenance/v0.2', subject: [{ digest: { sha256: signed.manifest.digest.slice(7) } }], predicate: { builder: predicate.builder } });

    // The OCI tags list names every tag: clients find signatures by these names. Each is pullable.
    const tagsList = await oci.getJson<{ tags: string[] }>(`/v2/${repository}/tags/list`);
    expect(tagsList.body.tags).toEqual([`${stem}.att`, `${stem}.sig`, 'v1', 'v2']);
    for (const tag of [`${stem}.sig`, `${stem}.att`]) {
      const pulled = await fetch(`${registry.gatewayUrl}/v2/${repository}/manifests/${tag}`, { headers: { Authorization: basicAuth(workspace.admin), Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(pulled.status, tag).toBe(200);
    }

    // The JSON API's tag listing: v1 and v2 only, v1 signed with its signature and attestation attached.
    const api = `/api/v1/workspaces/${workspace.slug}/images/${name}`;
    const listed = await eventually(async () => {
      const { body } = await oci.getJson<{ tags: ListedTag[] }>(`${api}/-/tags?sort=name`);
      const v1 = body.tags.find((entry) => entry.tag === 'v1');
      return v1?.referrers.length === 2 ? body.tags : undefined;
    }, 10_000);
    expect(listed.map((entry) => entry.tag)).toEqual(['v1', 'v2']);
    const [v1, v2] = listed;
    expect(v1!.manifest).toMatchObject({ digest: signed.manifest.digest, signed: true });
    expect(v1!.referrers.map((r) => [r.kind, r.subject, r.tags]).sort()).toEqual([
      ['attestation', signed.manifest.digest, [`${stem}.att`]],
      ['signature', signed.manifest.digest, [`${stem}.sig`]],
    ]);
    expect(v2).toMatchObject({ digest: unsigned.manifest.digest, manifest: { signed: false }, referrers: [] });

    // The tag's own page data, the image's details and the package listing say the same.
    const tag = await oci.getJson<{ manifest: ListedManifest; referrers: ListedManifest[] }>(`${api}/-/tags/v1`);
    expect(tag.body.manifest.signed).toBe(true);
    expect(tag.body.referrers.map((r) => r.kind).sort()).toEqual(['attestation', 'signature']);
    const details = await oci.getJson<{ tags: Array<{ tag: string }>; manifests: ListedManifest[] }>(api);
    expect(details.body.tags.map((t) => t.tag)).toEqual(['v1', 'v2']);
    expect(details.body.manifests.find((m) => m.tags.includes(`${stem}.sig`))).toMatchObject({ kind: 'signature', subject: signed.manifest.digest });
    const overview = await oci.getJson<{ image: { tagCount: number; manifestCount: number } }>(`${api}/-/overview`);
    expect(overview.body.image).toMatchObject({ tagCount: 2, manifestCount: 4 });
    // A folded tag keeps its own page.
    expect((await oci.getJson<{ manifest: ListedManifest }>(`${api}/-/tags/${stem}.sig`)).body.manifest).toMatchObject({ kind: 'signature', subject: signed.manifest.digest });
  }, 180_000);
});
