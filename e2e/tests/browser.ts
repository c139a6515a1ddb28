import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@ocireg/devstack';
import { chromium, type Browser, type Page } from 'playwright-core';
import { recordSecret } from './helpers';

/** Debian's Chromium (scripts/deps/install.sh installs it); Playwright's own browser downloads are not reachable. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless Chromium that reaches nothing but the pages it is sent to: without
 * these flags it calls Google's hosts at start and in the background.
 * Playwright gives every launch a fresh profile directory (--user-data-dir).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions'],
  });
}

/**
 * Signs `user` in through the web UI's form in a context of its own and
 * answers its page; the session cookies are recorded as secrets (no log may hold them).
 */
export async function signIn(browser: Browser, gatewayUrl: string, user: { email: string; password: string }, viewport = { width: 1280, height: 860 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${gatewayUrl}/`);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  for (const cookie of await context.cookies()) recordSecret(cookie.value);
  return page;
}

export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'reports', 'ui-screenshots');

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/**
 * axe-core's WCAG 2.x A/AA rules on the current page; returns the serious and
 * critical violations. The script is evaluated through the DevTools protocol,
 * which the page's Content-Security-Policy does not govern (it forbids inline scripts).
 */
export async function accessibilityViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    const page = globalThis as unknown as { document: unknown; axe: { run: (context: unknown, options: unknown) => Promise<{ violations: AxeViolation[] }> } };
    return page.axe.run(page.document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
  });
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
