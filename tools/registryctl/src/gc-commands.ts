import type { Command } from 'commander';
import { unaryCall } from '@ocireg/grpc';
import type { admin } from '@ocireg/proto';

/** `registryctl gc status` and `registryctl gc run [--dry-run] [--sweep]` (operators). */
export function addGcCommands(program: Command, cli: { api(): admin.AdminServiceClient; as(): { authorization: string }; print(value: unknown): void }): void {
  const gc = program.command('gc').description('garbage collection (operators): see docs/garbage-collection.md');
  gc.command('status')
    .description('reviews queued and due, blobs waiting to be freed, totals collected, the last sweep')
    .action(async () => {
      const c = cli.api();
      cli.print(await unaryCall(c.getGcStatus.bind(c), {}, cli.as()));
    });
  gc.command('run')
    .description('a collection round now')
    .option('--dry-run', 'list what a round would collect, and why, changing nothing')
    .option('--sweep', 'also sweep the storage for objects no metadata names (lists all of it)')
    .action(async (o: { dryRun?: boolean; sweep?: boolean }) => {
      const c = cli.api();
      cli.print(await unaryCall(c.runGc.bind(c), { dryRun: Boolean(o.dryRun), sweep: Boolean(o.sweep) }, cli.as()));
    });
}
