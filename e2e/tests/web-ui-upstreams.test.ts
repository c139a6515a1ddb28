import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin } from '@ocireg/proto';
import type { Browser, Page } from 'playwright-core';
import { accessibilityViolations, launchChromium, screenshot, signIn as signInPage } from './browser';
import { adminPortClient, newWorkspace, recordSecret, startTestRegistry, type TestWorkspace } from './helpers';
import { webUser, type WebUser } from './web-client';

/** The upstream registries page (pull-through cache) in Chromium: workspace admins add and remove upstreams, readers see them; no password is ever shown. */
describe('web UI: upstream registries of a workspace', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let browser: Browser;
  let workspaceAdmin: WebUser;
  let reader: WebUser;

  beforeAll(async () => {
    registry = await startTestRegistry();
    workspace = await newWorkspace(registry, 'uiup');
    workspaceAdmin = await webUser(registry);
    reader = await webUser(registry, { sourceRepositoryId: workspace.sourceRepositoryId, role: 'read' });
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

  it('a workspace admin adds an upstream (its password never shown), a reader sees it without actions, the admin removes it', async () => {
    const password = `hub-token-${Date.now()}`;
    recordSecret(password);
    const page = await signIn(workspaceAdmin);
    await page.goto(`${registry.gatewayUrl}/w/${workspace.slug}`);
    await page.getByRole('link', { name: 'Upstream registries' }).click();
    await page.getByRole('heading', { name: `Upstream registries of ${workspace.slug}` }).waitFor();
    await page.getByText('No upstream registries yet.').waitFor();

    await page.getByLabel(/^Name/).fill('hub');
    await page.getByLabel('URL').fill('https://registry.example.test');
    await page.getByLabel('Username').fill('bot');
    await page.getByLabel('Password or token').fill(password);
    await page.getByLabel('Repository whose members may pull through it').selectOption(workspace.sourceRepositoryId);
    await page.getByLabel(/Upstream repositories served/).fill('library');
    await page.getByRole('button', { name: 'Add upstream' }).click();
    const row = page.getByRole('row', { name: /hub/ });
    await row.waitFor();
    await expect(row.textContent()).resolves.toMatch(/https:\/\/registry\.example\.test.*bot \(password stored\).*library.*300 s/);
    await expect(row.textContent()).resolves.toContain(`/${workspace.slug}/hub/library/<image>:<tag>`);
    expect(await page.content()).not.toContain(password);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'upstreams');

    // A bad URL is refused with the server's message, naming the field.
    await page.getByLabel(/^Name/).fill('other');
    await page.getByLabel('URL').fill('ftp://x.example.test');
    await page.getByLabel('Repository whose members may pull through it').selectOption(workspace.sourceRepositoryId);
    await page.getByRole('button', { name: 'Add upstream' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/url: must be an http or https URL/);

    const readerPage = await signIn(reader);
    await readerPage.goto(`${registry.gatewayUrl}/w/${workspace.slug}/upstreams`);
    await readerPage.getByRole('row', { name: /hub/ }).waitFor();
    expect(await readerPage.getByRole('heading', { name: 'Add an upstream registry' }).count()).toBe(0);
    expect(await readerPage.getByRole('button', { name: 'Remove hub' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Remove hub' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await page.getByText('No upstream registries yet.').waitFor();
  }, 120_000);
});
