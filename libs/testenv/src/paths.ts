import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../../..');

/** Downloaded and built dependencies live here, keyed by version (see scripts/deps/install.sh). */
export function cacheDir(): string {
  return process.env.OCIREG_CACHE ?? path.join(homedir(), '.cache', 'ocireg');
}

/** Versions shared with install.sh, from scripts/deps/versions.env. */
export function pinnedVersions(): { kafka: string; minio: string; fakeGcsServer: string } {
  const text = readFileSync(path.join(REPO_ROOT, 'scripts', 'deps', 'versions.env'), 'utf8');
  const value = (key: string) => {
    const match = new RegExp(`^${key}=(.+)$`, 'm').exec(text);
    if (!match) throw new Error(`scripts/deps/versions.env has no ${key}`);
    return match[1]!.trim();
  };
  return { kafka: value('KAFKA_VERSION'), minio: value('MINIO_VERSION'), fakeGcsServer: value('FAKE_GCS_SERVER_VERSION') };
}

const NOT_INSTALLED = 'is not installed: run bash scripts/deps/install.sh';

export function kafkaClasspath(): string {
  const { kafka } = pinnedVersions();
  const libs = path.join(cacheDir(), `kafka-${kafka}`, 'libs');
  if (!existsSync(path.join(libs, `kafka_2.13-${kafka}.jar`))) throw new Error(`Kafka ${kafka} ${NOT_INSTALLED} (looked in ${libs})`);
  return path.join(libs, '*');
}

export function minioBinary(): string {
  const { minio } = pinnedVersions();
  const binary = path.join(cacheDir(), `minio-${minio}`, 'minio');
  if (!existsSync(binary)) throw new Error(`MinIO ${minio} ${NOT_INSTALLED} (looked for ${binary})`);
  return binary;
}

export function fakeGcsServerBinary(): string {
  const { fakeGcsServer } = pinnedVersions();
  const binary = path.join(cacheDir(), `fake-gcs-server-${fakeGcsServer}`, 'fake-gcs-server');
  if (!existsSync(binary)) throw new Error(`fake-gcs-server ${fakeGcsServer} ${NOT_INSTALLED} (looked for ${binary})`);
  return binary;
}

/** Debian installs PostgreSQL under /usr/lib/postgresql/<major>/bin; take the newest. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : [];
  if (majors.length === 0) throw new Error(`PostgreSQL ${NOT_INSTALLED}`);
  return path.join(root, majors[0]!, 'bin');
}
