import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { Command, InvalidArgumentError } from 'commander';
import { unaryCall } from '@ocireg/grpc';
import { audit } from '@ocireg/proto';

interface AuditCli {
  audit(): audit.AuditServiceClient;
  as(): { authorization: string };
  print(value: unknown): void;
}

interface FilterOptions {
  workspace?: string;
  actor?: string;
  action?: string;
  target?: string;
  outcome?: string;
  since?: string;
  until?: string;
}

const withFilters = (command: Command) =>
  command
    .option('--workspace <slug>', "one workspace's entries (workspace admins must name theirs)")
    .option('--actor <user>', 'entries by one user (id or email)')
    .option('--action <action>', 'an action (tag.deleted), or a prefix ending in * (token.*)')
    .option('--target <target>', "a target's id, or the start of its name (acme/api:v1)")
    .option('--outcome <outcome>', 'success or failure', (value) => {
      if (value !== 'success' && value !== 'failure') throw new InvalidArgumentError('expected success or failure');
      return value;
    })
    .option('--since <time>', 'from this RFC 3339 time or date (inclusive)')
    .option('--until <time>', 'up to this RFC 3339 time or date (exclusive)');

const request = (o: FilterOptions, pageSize: number, pageToken: string): audit.ListAuditEntriesRequest => ({
  workspaceSlug: o.workspace ?? '',
  actor: o.actor ?? '',
  action: o.action ?? '',
  target: o.target ?? '',
  outcome: o.outcome ?? '',
  since: o.since ?? '',
  until: o.until ?? '',
  pageSize,
  pageToken,
});

/** An entry as JSON: its before/after as objects, not strings. */
function entryJson(entry: audit.AuditEntry): Record<string, unknown> {
  const { beforeJson, afterJson, ...rest } = audit.AuditEntry.toJSON(entry) as audit.AuditEntry;
  return { ...rest, before: beforeJson ? JSON.parse(beforeJson) : null, after: afterJson ? JSON.parse(afterJson) : null };
}

/**
 * `registryctl audit list|export|verify` (docs/audit.md): a page of entries,
 * every matching entry as JSON lines, and the chains' check (operators).
 */
export function addAuditCommands(program: Command, cli: AuditCli): void {
  const group = program.command('audit').description('the audit log: who changed what, from where (operators; workspace admins for their workspace)');
  withFilters(group.command('list'))
    .description('entries newest first, a page at a time')
    .option('--limit <n>', 'entries per page (at most 500)', (value) => Number(value), 50)
    .option('--page-token <token>', 'the next page, as the previous one named it', '')
    .action(async (o: FilterOptions & { limit: number; pageToken: string }) => {
      const c = cli.audit();
      const page = await unaryCall(c.listAuditEntries.bind(c), request(o, o.limit, o.pageToken), cli.as());
      cli.print({ entries: page.entries.map(entryJson), nextPageToken: page.nextPageToken });
    });
  withFilters(group.command('export'))
    .description('every matching entry, newest first, one JSON object per line')
    .option('--output <file>', 'write to a file instead of standard output')
    .action(async (o: FilterOptions & { output?: string }) => {
      const c = cli.audit();
      const out: Writable = o.output ? createWriteStream(o.output) : process.stdout;
      let pageToken = '';
      let count = 0;
      do {
        const page = await unaryCall(c.listAuditEntries.bind(c), request(o, 500, pageToken), cli.as());
        for (const entry of page.entries) {
          if (!out.write(`${JSON.stringify(entryJson(entry))}\n`)) await new Promise((resolve) => out.once('drain', resolve));
          count += 1;
        }
        pageToken = page.nextPageToken;
      } while (pageToken);
      if (o.output) await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      process.stderr.write(`registryctl: ${count} audit entries exported\n`);
    });
  group
    .command('verify')
    .description('check every chain of the log (exits 1 when a row was changed, removed or inserted behind its back)')
    .action(async () => {
      const c = cli.audit();
      const verified = await unaryCall(c.verifyAuditLog.bind(c), {}, cli.as());
      // ok printed even when false (proto3 JSON leaves out false).
      cli.print({ ...(audit.VerifyAuditLogResponse.toJSON(verified) as object), ok: verified.ok });
      if (!verified.ok) {
        process.stderr.write(`registryctl: the audit log does not verify: ${verified.problemsTotal} problem(s), first: ${verified.problems[0]?.chain} row ${verified.problems[0]?.seq}: ${verified.problems[0]?.problem}\n`);
        process.exitCode = 1;
      }
    });
}
