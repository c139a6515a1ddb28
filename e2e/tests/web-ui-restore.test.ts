import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin } from '@ocireg/proto';
import type { Browser, Page } from 'playwright-core';
import { accessibilityViolations, launchChromium, screenshot, signIn as signInPage } from './browser';
import { adminPortClient, basicAuth, newWorkspace, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';
import { webUser, type WebUser } from './web-client';

/** Recently deleted in Chromium (docs/lifecycle-restore.md): a Write member restores a deleted tag from the package page; a workspace admin sees the workspace's deletions. */
describe('web UI: recently deleted and restore', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let browser: Browser;
  let writer: WebUser;
  let workspaceAdmin: WebUser;

  beforeAll(async () => {
    registry = await startTestRegistry();
    workspace = await newWorkspace(registry, 'uirestore');
    writer = await webUser(registry, { sourceRepositoryId: workspace.sourceRepositoryId, role: 'write' });
    workspaceAdmin = await webUser(registry);
    const client = adminPortClient(registry, admin.AdminServiceClient);
    try {
      await unaryCall(client.addWorkspaceAdmin.bind(client), { workspaceSlug: workspace.slug, userId: workspaceAdmin.userId }, { authorization: registry.operator.authorization });
    } finally {
      client.close();
    }
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await registry?.stop();
  });

  const signIn = (user: WebUser): Promise<Page> => signInPage(browser, registry.gatewayUrl, user);

  it('a deleted tag is listed on the package page with who deleted it; Restore brings it back, pullable with its digest', async () => {
    const oci = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
    const kept = await oci.pushImage(`${workspace.slug}/app`, 'stable');
    const doomed = await oci.pushImage(`${workspace.slug}/app`, 'v1');
    const deleted = await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/app/manifests/v1`, { method: 'DELETE', headers: { Authorization: basicAuth(workspace.admin) } });
    expect(deleted.status).toBe(202);
    expect(kept.manifest.digest).not.toBe(doomed.manifest.digest);

    const page = await signIn(writer);
    await page.goto(`${registry.gatewayUrl}/w/${workspace.slug}/i/app`);
    const section = page.getByRole('region', { name: 'Recently deleted' });
    const row = section.getByRole('row', { name: /tag v1/ });
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain(workspace.admin.email);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'recently-deleted');

    await row.getByRole('button', { name: /^Restore / }).click();
    await expect(section.getByRole('status').textContent()).resolves.toMatch(/Restored tags v1/);
    await section.getByText(/Nothing was deleted in the last 7 days/).waitFor();
    const head = await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/app/manifests/v1`, { method: 'HEAD', headers: { Authorization: basicAuth(workspace.admin), Accept: doomed.manifest.mediaType } });
    expect([head.status, head.headers.get('docker-content-digest')]).toEqual([200, doomed.manifest.digest]);

    // A restore refused (the tag was pushed again elsewhere) shows the server's reason.
    expect((await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/app/manifests/v1`, { method: 'DELETE', headers: { Authorization: basicAuth(workspace.admin) } })).status).toBe(202);
    await oci.pushImage(`${workspace.slug}/app`, 'v1');
    const adminPage = await signIn(workspaceAdmin);
    await adminPage.goto(`${registry.gatewayUrl}/w/${workspace.slug}`);
    await adminPage.getByRole('link', { name: 'Recently deleted' }).click();
    await adminPage.getByRole('heading', { name: `Recently deleted in ${workspace.slug}` }).waitFor();
    const again = adminPage.getByRole('row', { name: /tag v1/ });
    await again.waitFor();
    expect(await accessibilityViolations(adminPage)).toEqual([]);
    await again.getByRole('button', { name: /^Restore / }).click();
    await expect(adminPage.getByRole('alert').textContent()).resolves.toMatch(/v1 \(now sha256:[a-f0-9]{64}\) were pushed again/);
  });
});
