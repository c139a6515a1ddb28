import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin } from '@ocireg/proto';
import type { Browser, Page } from 'playwright-core';
import { accessibilityViolations, launchChromium, screenshot, signIn as signInPage } from './browser';
import { adminPortClient, basicAuth, newWorkspace, recordSecret, startTestRegistry, tempDir, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';
import { startUpstreamRegistry, type UpstreamRegistry } from './upstream-registry';
import { webUser, type WebUser } from './web-client';

/** The replication page in Chromium: a workspace admin adds a target (its password never shown), sees a pushed tag replicated and a failing job with its error, and retries it; a reader sees the status without actions. */
describe('web UI: replication targets of a workspace', () => {
  let registry: RunningRegistry;
  let target: UpstreamRegistry;
  let workspace: TestWorkspace;
  let browser: Browser;
  let workspaceAdmin: WebUser;
  let reader: WebUser;

  beforeAll(async () => {
    target = await startUpstreamRegistry(tempDir('ui-replication-target'));
    recordSecret(target.password);
    registry = await startTestRegistry({ REPLICATION_ALLOWED_CIDRS: '127.0.0.0/8', REPLICATION_POLL_SECONDS: '0.5', REPLICATION_RETRY_BASE_SECONDS: '1', REPLICATION_RETRY_MAX_SECONDS: '2', REPLICATION_MAX_ATTEMPTS: '2' });
    workspace = await newWorkspace(registry, 'uirepl');
    workspaceAdmin = await webUser(registry);
    reader = await webUser(registry, { sourceRepositoryId: workspace.sourceRepositoryId, role: 'read' });
    const client = adminPortClient(registry, admin.AdminServiceClient);
    try {
      await unaryCall(client.addWorkspaceAdmin.bind(client), { workspaceSlug: workspace.slug, userId: workspaceAdmin.userId }, { authorization: registry.operator.authorization });
    } finally {
      client.close();
    }
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await registry?.stop();
    await target?.stop();
  });

  const signIn = (user: WebUser): Promise<Page> => signInPage(browser, registry.gatewayUrl, user, { width: 1280, height: 900 });

  async function addTarget(page: Page, fields: { name: string; url: string; username?: string; password?: string; packages: string; prefix?: string }) {
    await page.getByLabel(/^Name/).fill(fields.name);
    await page.getByLabel('URL of the target registry').fill(fields.url);
    await page.getByLabel('Username').fill(fields.username ?? '');
    await page.getByLabel('Password or token').fill(fields.password ?? '');
    await page.getByLabel(/^Packages/).fill(fields.packages);
    await page.getByLabel(/^Repository prefix on the target/).fill(fields.prefix ?? '');
    await page.getByRole('button', { name: 'Add target' }).click();
  }

  it('shows targets, their recent jobs and failures; a workspace admin retries a failed job; a reader gets no actions', async () => {
    const page = await signIn(workspaceAdmin);
    await page.goto(`${registry.gatewayUrl}/w/${workspace.slug}`);
    await page.getByRole('link', { name: 'Replication' }).click();
    await page.getByRole('heading', { name: `Replication of ${workspace.slug}` }).waitFor();
    await page.getByText('No replication targets yet.').waitFor();

    await addTarget(page, { name: 'backup', url: target.url, username: target.username, password: target.password, packages: 'app', prefix: 'copy' });
    await page.getByRole('row', { name: /backup/ }).first().waitFor();
    // ::1 is loopback and only 127.0.0.0/8 is allowed: its jobs fail (refused before connecting).
    await addTarget(page, { name: 'refused', url: 'http://[::1]:9', packages: 'app' });
    await page.getByRole('heading', { name: 'Recent jobs of refused' }).waitFor();
    expect(await page.content()).not.toContain(target.password);

    const { manifest } = await new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin)).pushImage(`${workspace.slug}/app`, 'v1');
    const backupJobs = page.getByRole('table', { name: 'Recent jobs of backup' });
    await backupJobs.getByRole('row', { name: /succeeded/ }).waitFor({ timeout: 60_000 });
    await expect(backupJobs.textContent()).resolves.toContain(`${workspace.slug}/app:v1 → copy/app:v1`);
    const refusedJobs = page.getByRole('table', { name: 'Recent jobs of refused' });
    const failed = refusedJobs.getByRole('row', { name: /failed/ });
    await failed.waitFor({ timeout: 60_000 });
    await expect(failed.textContent()).resolves.toMatch(/REPLICATION_ALLOWED_CIDRS/);
    const copied = await fetch(`${target.url}/v2/copy/app/manifests/v1`, { method: 'HEAD', headers: { Authorization: target.authorization, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(copied.headers.get('docker-content-digest')).toBe(manifest.digest);
    await expect(page.getByRole('row', { name: /^backup/ }).textContent()).resolves.toMatch(/1 succeeded/);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'replication');

    // A retry runs it again (and it fails again, as the address is still refused).
    await page.getByRole('button', { name: `Retry ${workspace.slug}/app:v1 to refused` }).click();
    await refusedJobs.getByRole('row', { name: /pending|running|retrying/ }).waitFor({ timeout: 30_000 });
    await refusedJobs.getByRole('row', { name: /failed/ }).waitFor({ timeout: 60_000 });

    // A bad URL is refused with the server's message, naming the field.
    await addTarget(page, { name: 'bad', url: 'ftp://x.example.test', packages: '*' });
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/url: must be an http or https URL/);

    const readerPage = await signIn(reader);
    await readerPage.goto(`${registry.gatewayUrl}/w/${workspace.slug}/replication`);
    await readerPage.getByRole('table', { name: 'Recent jobs of backup' }).getByRole('row', { name: /succeeded/ }).waitFor();
    expect(await readerPage.getByRole('heading', { name: 'Add a replication target' }).count()).toBe(0);
    expect(await readerPage.getByRole('button', { name: /^Retry|^Remove/ }).count()).toBe(0);

    await page.getByRole('button', { name: 'Remove refused' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('heading', { name: 'Recent jobs of refused' }).waitFor({ state: 'detached' });
  }, 240_000);
});
