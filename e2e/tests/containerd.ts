import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from './helpers';

/** A containerd of its own (no CRI plugin) in `dir`, for ctr; resolves once it answers. */
export async function startContainerd(dir: string): Promise<{ socket: string; ctr(...args: string[]): Promise<string>; stop(): void }> {
  const socket = path.join(dir, 'containerd.sock');
  const config = path.join(dir, 'config.toml');
  writeFileSync(config, ['version = 2', `root = "${dir}/root"`, `state = "${dir}/state"`, 'disabled_plugins = ["io.containerd.grpc.v1.cri"]', '[grpc]', `  address = "${socket}"`].join('\n'));
  const containerd = spawn('containerd', ['--config', config], { stdio: 'ignore' });
  const ctr = (...args: string[]) => run('ctr', ['--address', socket, ...args]);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await ctr('version');
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        containerd.kill('SIGKILL');
        throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return { socket, ctr, stop: () => containerd.kill('SIGTERM') };
}
