import type { Command } from 'commander';
import { unaryCall } from '@ocireg/grpc';
import { admin } from '@ocireg/proto';

/**
 * `registryctl deleted list <workspace> [--package <name>]` and
 * `registryctl deleted restore <workspace> <deletion-id>`: the restore window
 * (docs/lifecycle-restore.md). Whoever may delete in a package lists and
 * restores its deletions; workspace admins those of the whole workspace.
 */
export function addRestoreCommands(program: Command, cli: { api(): admin.AdminServiceClient; as(): { authorization: string }; print(value: unknown): void }): void {
  const deleted = program.command('deleted').description('recently deleted tags and images, restorable until their window ends (RESTORE_WINDOW_SECONDS)');
  deleted
    .command('list <workspace>')
    .description('deletions still in the restore window, newest first: what, when, by whom, the bytes they hold')
    .option('--package <name>', 'only this package (who may delete in it); without: the whole workspace (workspace admins)')
    .action(async (workspaceSlug: string, o: { package?: string }) => {
      const c = cli.api();
      cli.print(admin.ListDeletedResponse.toJSON(await unaryCall(c.listDeleted.bind(c), { workspaceSlug, name: o.package ?? '' }, cli.as())));
    });
  deleted
    .command('restore <workspace> <deletion-id>')
    .description('puts the deletion\'s manifests and tags back (same digests); refused if a tag was pushed again to another digest or the window ended')
    .action(async (workspaceSlug: string, deletionId: string) => {
      const c = cli.api();
      cli.print(admin.RestoreDeletionResponse.toJSON(await unaryCall(c.restoreDeletion.bind(c), { workspaceSlug, deletionId }, cli.as())));
    });
}
