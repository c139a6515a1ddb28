import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin } from '@ocireg/proto';
import type { Browser, Page } from 'playwright-core';
import { accessibilityViolations, launchChromium, screenshot, signIn as signInPage } from './browser';
import { adminPortClient, basicAuth, newWorkspace, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';
import { webUser, type WebUser } from './web-client';

/** The immutable tags page in Chromium: a workspace admin adds rules (a bad pattern refused with the server's message), a reader sees them without actions, the image page shows the rules in effect, the admin deletes one. */
describe('web UI: immutable tag rules', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let browser: Browser;
  let workspaceAdmin: WebUser;
  let reader: WebUser;

  beforeAll(async () => {
    registry = await startTestRegistry();
    workspace = await newWorkspace(registry, 'uiimm');
    await new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin)).pushImage(`${workspace.slug}/app`, 'v1');
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

  it('a workspace admin creates rules at the workspace and a package, a reader sees them and their effect on a package, the admin deletes one', async () => {
    const page = await signIn(workspaceAdmin);
    await page.goto(`${registry.gatewayUrl}/w/${workspace.slug}`);
    await page.getByRole('link', { name: 'Immutable tags' }).click();
    await page.getByRole('heading', { name: `Immutable tags of ${workspace.slug}` }).waitFor();
    await page.getByText('No immutable tag rules yet.').waitFor();

    // A malformed pattern is refused with the server's message.
    await page.getByLabel('Tag pattern').fill('v[0-9]');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/pattern: must be 1-128 characters/);

    await page.getByLabel('Tag pattern').fill('v*');
    await page.getByLabel('Level').selectOption('workspace');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByRole('status').filter({ hasText: `Rule v* added to ${workspace.slug}.` }).waitFor();
    await page.getByLabel('Tag pattern').fill('stable');
    await page.getByLabel('Level').selectOption('package');
    await page.getByLabel('Package name', { exact: true }).first().fill('app');
    await page.getByRole('button', { name: 'Add rule' }).click();
    const packageRow = page.getByRole('row', { name: new RegExp(`stable.*Package.*${workspace.slug}/app`) });
    await packageRow.waitFor();
    await expect(page.getByRole('row', { name: new RegExp(`v\\*.*Workspace.*${workspace.slug}`) }).count()).resolves.toBe(1);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'immutable-tags');

    // A reader sees the rules, without the form or delete buttons, and the rules in effect on the image page.
    const readerPage = await signIn(reader);
    await readerPage.goto(`${registry.gatewayUrl}/w/${workspace.slug}/immutable-tags`);
    await readerPage.getByRole('row', { name: /stable/ }).waitFor();
    expect(await readerPage.getByRole('heading', { name: 'Add an immutable tag rule' }).count()).toBe(0);
    expect(await readerPage.getByRole('button', { name: /^Delete rule/ }).count()).toBe(0);
    await readerPage.goto(`${registry.gatewayUrl}/w/${workspace.slug}/i/app`);
    const effective = readerPage.getByRole('table', { name: 'Immutable tag rules in effect for app' });
    await effective.waitFor();
    await expect(effective.textContent()).resolves.toMatch(/v\*Workspace.*stablePackage/);
    expect(await accessibilityViolations(readerPage)).toEqual([]);

    await page.getByRole('button', { name: `Delete rule stable of ${workspace.slug}/app` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete rule' }).click();
    await expect.poll(() => page.getByRole('row', { name: /stable/ }).count()).toBe(0);
    // The lookup shows what is left in effect.
    await page.getByRole('textbox', { name: 'Package name' }).last().fill('app');
    await page.getByRole('button', { name: 'Show rules' }).click();
    await expect(page.getByRole('table', { name: 'Immutable tag rules in effect for app' }).textContent()).resolves.toMatch(/v\*Workspace/);
  }, 120_000);
});
