import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, logTail, removeDir, startProcess } from '../processes';
import type { ProviderConfig } from './provider-config';

export type { ProviderConfig } from './provider-config';

export interface StartedOidcProvider {
  /** The issuer URL (http://127.0.0.1:<port>): its discovery document is at /.well-known/openid-configuration. */
  issuer: string;
  logFile: string;
  stop(): Promise<void>;
}

/** Starts the test OpenID Connect provider (oidc-provider, provider-server.ts) as its own process on 127.0.0.1. */
export async function startOidcProvider(options: Omit<ProviderConfig, 'port'>): Promise<StartedOidcProvider> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ocireg-oidc-'));
  const port = await freePort();
  const configFile = path.join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ ...options, port } satisfies ProviderConfig));
  const logFile = path.join(dir, 'provider.log');
  const managed = startProcess('oidc-provider', process.execPath, [path.join(__dirname, 'provider-server.js'), configFile], { logFile, afterStop: () => removeDir(dir) });
  const issuer = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${issuer}/.well-known/openid-configuration`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline || managed.child.exitCode !== null) {
      await managed.stop();
      throw new Error(`the OIDC provider did not start: ${logTail(logFile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { issuer, logFile, stop: () => managed.stop() };
}
