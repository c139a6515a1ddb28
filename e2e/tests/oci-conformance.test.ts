import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { REPO_ROOT } from '@ocireg/devstack';
import { newWorkspace, startTestRegistry } from './helpers';

const execFileAsync = promisify(execFile);

interface Target {
  registryHost: string;
  workspace: string;
  user: { email: string; token: string };
  reportDir: string;
}

interface Suite {
  /** The binary scripts/tools/go-tools.sh builds and puts on PATH. */
  binary: string;
  about: string;
  /** Its report goes to reports/oci-conformance/<directory>; test.sh prints every summary.txt there. */
  directory: string;
  env(target: Target): Record<string, string>;
  /** How its output says every spec passed, with at least one run. */
  passed: RegExp[];
  /** Where the closing summary in its output starts. */
  summaryStart: RegExp;
}

const SUITES: Suite[] = [
  {
    binary: 'oci-conformance',
    about: 'the newest suite',
    directory: 'newest',
    env: ({ registryHost, workspace, user, reportDir }) => ({
      OCI_REGISTRY: registryHost,
      OCI_TLS: 'disabled',
      OCI_USERNAME: user.email,
      OCI_PASSWORD: user.token,
      OCI_REPO1: `${workspace}/repo-one`,
      OCI_REPO2: `${workspace}/repo-two`,
      OCI_RESULTS_DIR: reportDir,
      // Pull, push, content discovery and content management are on by default; also check the optional parts.
      OCI_API_BLOBS_UPLOAD_CANCEL: 'true',
      OCI_API_BLOBS_DIGEST_HEADER: 'true',
      OCI_API_MANIFESTS_DIGEST_HEADER: 'true',
      OCI_API_MANIFESTS_TAG_PARAM: 'true',
    }),
    passed: [/FAIL\.+:\s+0\b/, /Pass\.+:\s+[1-9]\d*\b/],
    summaryStart: /^OCI Conformance Result/,
  },
  {
    binary: 'oci-conformance-v1.1',
    about: 'the 1.1 release line, nearest the Go proxy serves to v1.1.1',
    directory: 'v1.1',
    env: ({ registryHost, workspace, user, reportDir }) => ({
      OCI_ROOT_URL: `http://${registryHost}`,
      OCI_NAMESPACE: `${workspace}/repo-one`,
      OCI_CROSSMOUNT_NAMESPACE: `${workspace}/repo-two`,
      OCI_USERNAME: user.email,
      OCI_PASSWORD: user.token,
      OCI_REPORT_DIR: reportDir,
      OCI_TEST_PULL: '1',
      OCI_TEST_PUSH: '1',
      OCI_TEST_CONTENT_DISCOVERY: '1',
      OCI_TEST_CONTENT_MANAGEMENT: '1',
    }),
    passed: [/SUCCESS! -- [1-9]\d* Passed \| 0 Failed/],
    summaryStart: /^Ran \d+ of \d+ Specs/,
  },
];

describe('OCI distribution-spec conformance suite (all workflows)', () => {
  let registry: RunningRegistry;

  beforeAll(async () => {
    registry = await startTestRegistry();
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it.each(SUITES)('$binary ($about) passes with zero failures', async ({ binary, directory, env: suiteEnv, passed, summaryStart }) => {
    const reportDir = path.join(REPO_ROOT, 'reports', 'oci-conformance', directory);
    rmSync(reportDir, { recursive: true, force: true });
    mkdirSync(reportDir, { recursive: true });
    const { slug: workspace, admin: user } = await newWorkspace(registry, 'conformance');
    const env = { ...process.env, ...suiteEnv({ registryHost: registry.registryHost, workspace, user, reportDir }) };
    let output: string;
    try {
      output = withoutColours((await execFileAsync(binary, [], { env, cwd: reportDir, maxBuffer: 64 * 1024 * 1024 })).stdout);
    } catch (err) {
      const failure = err as { stdout?: string; stderr?: string };
      const failedOutput = withoutColours(failure.stdout ?? '');
      writeFileSync(path.join(reportDir, 'summary.txt'), summaryOf(binary, failedOutput, summaryStart));
      throw new Error(`${binary} failed:\n${failure.stderr ?? ''}\n${failedOutput.split('\n').filter((line) => /FAIL/.test(line)).join('\n')}`);
    }
    writeFileSync(path.join(reportDir, 'summary.txt'), summaryOf(binary, output, summaryStart));
    for (const pattern of passed) expect(output).toMatch(pattern);
    expect(readFileSync(path.join(reportDir, 'report.html'), 'utf8').length).toBeGreaterThan(0);
  }, 300_000);
});

/** The suite ends its output with a per-area summary; keep that part for CI to print, under the suite's name. */
function summaryOf(binary: string, output: string, summaryStart: RegExp): string {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => summaryStart.test(line));
  return [`${binary}:`, ...lines.slice(start >= 0 ? start : Math.max(lines.length - 80, 0))].join('\n');
}

/** Ginkgo (the 1.1 line's runner) colours its output with ANSI escapes. */
function withoutColours(output: string): string {
  return output.replace(/\x1b\[[0-9;]*m/g, '');
}
