import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run, tempDir } from './helpers';

/** A small image made without pulling anything: a rootfs of random bytes, imported into dockerd. Returns the image id. */
export async function importRandomImage(reference: string, sizeBytes = 3 * 1024 * 1024): Promise<string> {
  const rootfs = path.join(tempDir('rootfs'), 'rootfs');
  mkdirSync(path.join(rootfs, 'data'), { recursive: true });
  writeFileSync(path.join(rootfs, 'data', 'random.bin'), randomBytes(sizeBytes));
  writeFileSync(path.join(rootfs, 'hello.txt'), `made for ${reference}\n`);
  const tarball = path.join(path.dirname(rootfs), 'rootfs.tar');
  await run('tar', ['-C', rootfs, '-cf', tarball, '.']);
  await run('docker', ['import', tarball, reference]);
  return run('docker', ['image', 'inspect', '--format', '{{.Id}}', reference]);
}
