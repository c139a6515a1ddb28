import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { REPO_ROOT } from '@ocireg/devstack';
import { newWorkspace, startTestRegistry } from './helpers';

const execFileAsync = promisify(execFile);

/** Where CI finds the report (test.sh prints its summary). */
const REPORT_DIR = path.join(REPO_ROOT, 'reports', 'oci-conformance');

describe('OCI distribution-spec conformance suite (all workflows)', () => {
  let registry: RunningRegistry;

  beforeAll(async () => {
    registry = await startTestRegistry();
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('passes with zero failures', async () => {
    mkdirSync(REPORT_DIR, { recursive: true });
    const { slug: workspace, admin: user } = await newWorkspace(registry, 'conformance');
    const env = {
      ...process.env,
      OCI_REGISTRY: registry.registryHost,
      OCI_TLS: 'disabled',
      OCI_USERNAME: user.email,
      OCI_PASSWORD: user.token,
      OCI_REPO1: `${workspace}/repo-one`,
      OCI_REPO2: `${workspace}/repo-two`,
      OCI_RESULTS_DIR: REPORT_DIR,
      // Pull, push, content discovery and content management are on by default; also check the optional parts.
      OCI_API_BLOBS_UPLOAD_CANCEL: 'true',
      OCI_API_BLOBS_DIGEST_HEADER: 'true',
      OCI_API_MANIFESTS_DIGEST_HEADER: 'true',
      OCI_API_MANIFESTS_TAG_PARAM: 'true',
    };
    let output: string;
    try {
      output = (await execFileAsync('oci-conformance', [], { env, cwd: REPORT_DIR, maxBuffer: 64 * 1024 * 1024 })).stdout;
      writeFileSync(path.join(REPORT_DIR, 'summary.txt'), summaryOf(output));
    } catch (err) {
      const failure = err as { stdout?: string; stderr?: string };
      writeFileSync(path.join(REPORT_DIR, 'summary.txt'), summaryOf(failure.stdout ?? ''));
      throw new Error(`conformance failed:\n${failure.stderr ?? ''}\n${(failure.stdout ?? '').split('\n').filter((line) => /FAIL/.test(line)).join('\n')}`);
    }
    expect(output).toMatch(/FAIL\.+:\s+0\b/);
    const results = readFileSync(path.join(REPORT_DIR, 'results.yaml'), 'utf8');
    expect(results.length).toBeGreaterThan(0);
  }, 300_000);
});

/** The suite ends its output with a per-area summary; keep that part for CI to print. */
function summaryOf(output: string): string {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => line.startsWith('OCI Conformance Result'));
  return lines.slice(start >= 0 ? start : Math.max(lines.length - 80, 0)).join('\n');
}
