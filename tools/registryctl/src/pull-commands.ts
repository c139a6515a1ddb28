import type { Command } from 'commander';
import { unaryCall } from '@ocireg/grpc';
import type { admin } from '@ocireg/proto';

/**
 * `registryctl image pulls <workspace> <name> [--json]` (issue 24): when each
 * tag and manifest of an image was last pushed and last pulled, "never" for
 * what nobody pulled. (`image get` and `image tag` carry the same times as
 * lastPulledAt, '' for never.)
 */
export function addPullCommands(image: Command, cli: { api(): admin.AdminServiceClient; as(): { authorization: string }; print(value: unknown): void }): void {
  image
    .command('pulls <workspace> <name>')
    .description('when each tag and manifest was last pulled ("never" if nobody did); times arrive within the gateways\' flush interval (PULL_FLUSH_SECONDS)')
    .option('--json', 'print JSON instead of tables')
    .action(async (ws: string, name: string, o: { json?: boolean }) => {
      const c = cli.api();
      const found = await unaryCall(c.getImage.bind(c), { workspaceSlug: ws, name }, cli.as());
      const tags = found.tags.map((t) => ({ tag: t.tag, digest: t.digest, pushedAt: t.updatedAt, lastPulledAt: t.lastPulledAt }));
      const manifests = found.manifests.map((m) => ({ digest: m.digest, tags: m.tags, pushedAt: m.pushedAt, lastPulledAt: m.lastPulledAt }));
      if (o.json) return cli.print({ tags, manifests });
      const now = Date.now();
      process.stdout.write(
        [
          table(['TAG', 'DIGEST', 'PUSHED', 'LAST PULLED'], tags.map((t) => [t.tag, short(t.digest), t.pushedAt, pulled(t.lastPulledAt, now)])),
          '',
          table(['MANIFEST', 'TAGS', 'PUSHED', 'LAST PULLED'], manifests.map((m) => [short(m.digest), m.tags.join(',') || '-', m.pushedAt, pulled(m.lastPulledAt, now)])),
          '',
        ].join('\n'),
      );
    });
}

/** "2024-11-22T10:00:00.000Z (3 days ago)", or "never". */
export function pulled(at: string, now: number): string {
  if (!at) return 'never';
  const seconds = Math.max(0, Math.round((now - Date.parse(at)) / 1000));
  const [count, unit] = seconds < 60 ? [seconds, 'second'] : seconds < 3600 ? [Math.floor(seconds / 60), 'minute'] : seconds < 86_400 ? [Math.floor(seconds / 3600), 'hour'] : [Math.floor(seconds / 86_400), 'day'];
  return `${at} (${count} ${unit}${count === 1 ? '' : 's'} ago)`;
}

function short(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
