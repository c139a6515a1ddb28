import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { admin } from '@ocireg/proto';
import type { Caller, CallerResolver } from './callers';
import { originOfCall } from './change-origin';
import type { MetadataModel } from './metadata-model';
import type { DeletionRecord } from './restore-window';
import { roleAllows, type PackageAction } from './roles';
import { slug } from './validation';

export type RestoreMethods = 'listDeleted' | 'restoreDeletion';
type Methods = Pick<AsyncService<admin.AdminServiceServer>, RestoreMethods>;

const denied = (what: string) => new RegistryError('DENIED', `only ${what} may do this`);
const packageNotFound = (repository: string) => new RegistryError('NOT_FOUND', `package ${repository.slice(0, 200)} does not exist`, { field: 'name' });

/**
 * The restore window's admin methods (docs/lifecycle-restore.md). Who may
 * delete may see and restore: Write on a package lists its deletions and
 * restores tag deletions, its Admins restore manifest and image deletions;
 * workspace admins (and operators) list and restore the whole workspace's.
 * Both take a token that may delete (write:package or admin:package).
 */
export function restoreHandlers(model: Pick<MetadataModel, 'access' | 'restoreWindow'>, callers: CallerResolver, restoreWindowSeconds = 0): Methods {
  const seesWorkspace = async (caller: Caller, workspace: string) => caller.operator || (await model.access.isWorkspaceAdmin(caller.userId, workspace));

  /** The caller's role on a package must allow `action`; a package they may not see answers as a missing one. */
  const mayInPackage = async (caller: Caller, repository: string, action: PackageAction): Promise<void> => {
    let result;
    try {
      result = await model.access.roleOn(caller.userId, repository);
    } catch (err) {
      if (err instanceof RegistryError && err.httpStatus < 500) throw packageNotFound(repository);
      throw err;
    }
    if (!result.packageExists || (!result.role && !result.publicPull)) throw packageNotFound(repository);
    if (!roleAllows(result.role, action)) throw denied(action === 'delete-tag' ? 'users with Write on the package' : 'Admins of the package');
  };

  return {
    async listDeleted(request, ctx: CallContext) {
      const caller = callers.writer(ctx);
      const workspace = slug('workspace_slug', request.workspaceSlug);
      if (request.name) {
        const repository = `${workspace}/${request.name}`;
        if (!(await seesWorkspace(caller, workspace))) await mayInPackage(caller, repository, 'delete-tag');
        const deletions = await model.restoreWindow.list({ workspace, repository });
        return { deletions: deletions.map(deletionMessage), restoreWindowSeconds };
      }
      if (!(await seesWorkspace(caller, workspace))) throw denied(`operators and admins of workspace ${workspace}`);
      const deletions = await model.restoreWindow.list({ workspace });
      return { deletions: deletions.map(deletionMessage), restoreWindowSeconds };
    },
    async restoreDeletion(request, ctx: CallContext) {
      const caller = callers.writer(ctx);
      const workspace = slug('workspace_slug', request.workspaceSlug);
      const found = await model.restoreWindow.get(request.deletionId);
      const notHere = new RegistryError('NOT_FOUND', `deletion ${request.deletionId} is not in the restore window`, { field: 'deletion_id' });
      if (found.repository.split('/')[0] !== workspace) throw notHere;
      if (!(await seesWorkspace(caller, workspace))) {
        try {
          await mayInPackage(caller, found.repository, found.kind === 'tag' ? 'delete-tag' : 'delete-manifest');
        } catch (err) {
          // A package the caller may not see: its deletions do not exist for them either.
          if (err instanceof RegistryError && err.code === 'NOT_FOUND') throw notHere;
          throw err;
        }
      }
      const restored = await model.restoreWindow.restore(found.id, originOfCall(ctx, caller));
      ctx.logger.info({ deletion: found.id, repository: found.repository, manifests: restored.manifests.length, tags: restored.tags, actor: caller.userId }, 'deletion restored');
      return { deletion: deletionMessage(restored.deletion), restoredManifests: restored.manifests, restoredTags: restored.tags };
    },
  };
}

export function deletionMessage(d: DeletionRecord): admin.Deletion {
  return {
    id: d.id,
    kind: d.kind,
    fullName: d.repository,
    deletedAt: d.deletedAt.toISOString(),
    restorableUntil: d.restorableUntil.toISOString(),
    actorUserId: d.actor.userId,
    actorEmail: d.actor.email,
    actorService: d.actor.service,
    tags: d.tags,
    manifests: d.manifests,
    bytes: d.bytes,
  };
}
