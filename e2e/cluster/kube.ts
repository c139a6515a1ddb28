import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@ocireg/testenv';

const execFileAsync = promisify(execFile);

/** Runs a command; a failure carries its output. */
export async function sh(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<string> {
  try {
    const pending = execFileAsync(command, args, { env: options.env ?? process.env, cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 600_000 });
    pending.child.stdin?.on('error', () => undefined);
    pending.child.stdin?.end(options.input ?? '');
    const { stdout } = await pending;
    return stdout.trim();
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${(e.stderr || e.stdout || e.message).trim().split('\n').slice(-25).join('\n')}`);
  }
}

/** The local cluster (scripts/cluster/cluster.sh) and the variables that reach it. */
export class LocalCluster {
  readonly env: NodeJS.ProcessEnv;

  private constructor(env: Record<string, string>) {
    this.env = { ...process.env, ...env, PATH: `${env.PATH_PREFIX}:${process.env.PATH}` };
  }

  static script(...args: string[]): Promise<string> {
    return sh('bash', [path.join(REPO_ROOT, 'scripts/cluster/cluster.sh'), ...args], { timeoutMs: 300_000 });
  }

  /** Starts a fresh cluster (whatever was left of an earlier one is removed first). */
  static async start(): Promise<LocalCluster> {
    await LocalCluster.script('down');
    await LocalCluster.script('up');
    const exports = await LocalCluster.script('env');
    const env: Record<string, string> = {};
    for (const line of exports.split('\n')) {
      const match = /^export ([A-Z_]+)=(.*)$/.exec(line);
      if (!match) continue;
      if (match[1] === 'PATH') env.PATH_PREFIX = match[2]!.replace(/:\$PATH$/, '');
      else env[match[1]!] = match[2]!;
    }
    return new LocalCluster(env);
  }

  get nodeIp(): string {
    return this.env.OCIREG_CLUSTER_NODE_IP!;
  }

  kubectl(args: string[], input?: string): Promise<string> {
    return sh('kubectl', args, { env: this.env, input });
  }

  async json<T = any>(args: string[]): Promise<T> {
    return JSON.parse(await this.kubectl([...args, '-o', 'json'])) as T;
  }

  helm(args: string[]): Promise<string> {
    return sh('helm', args, { env: this.env, timeoutMs: 900_000 });
  }

  /** `kubectl port-forward` to a Service on a free loopback port; resolves once it forwards. */
  async portForward(namespace: string, service: string, port: number): Promise<{ address: string; close(): void }> {
    const child = spawn('kubectl', ['port-forward', '-n', namespace, '--address', '127.0.0.1', `svc/${service}`, `:${port}`], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const local = await new Promise<number>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`port-forward to ${service}:${port} did not start: ${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`port-forward to ${service}:${port} exited (${code}): ${output}`)));
    });
    return { address: `127.0.0.1:${local}`, close: () => stop(child) };
  }

  /** Waits until every pod of the namespace (but finished Job pods) is Ready, and returns them. */
  async waitAllReady(namespace: string, timeoutMs: number): Promise<any[]> {
    const deadline = Date.now() + timeoutMs;
    let pods: any[] = [];
    for (;;) {
      pods = (await this.json(['get', 'pods', '-n', namespace])).items.filter((p: any) => p.status.phase !== 'Succeeded');
      const notReady = pods.filter((p: any) => p.metadata.deletionTimestamp || !p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
      if (pods.length > 0 && notReady.length === 0) return pods;
      if (Date.now() > deadline) {
        const states = notReady.map((p: any) => `${p.metadata.name}: ${p.status.phase} ${JSON.stringify(p.status.containerStatuses?.map((c: any) => c.state))}`);
        throw new Error(`pods not Ready in ${namespace} after ${timeoutMs} ms:\n${states.join('\n')}`);
      }
      await sleep(1000);
    }
  }
}

function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A TCP relay from an address pods can reach (the node's bridge address) to a server on
 * 127.0.0.1: the test's own PostgreSQL, Redis and MinIO listen on loopback only.
 */
export async function relay(listenHost: string, target: { host: string; port: number }): Promise<{ port: number; server: Server }> {
  const server = createServer((downstream) => {
    const upstream = connect(target.port, target.host);
    downstream.pipe(upstream).pipe(downstream);
    const close = () => {
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, listenHost, resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('relay has no address');
  return { port: address.port, server };
}

