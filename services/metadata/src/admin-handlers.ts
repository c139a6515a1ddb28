import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import { admin } from '@ocireg/proto';
import type { Caller, CallerResolver } from './callers';
import { originOfCall } from './change-origin';
import { OPERATOR, type RoleOnPackage } from './access';
import type { SourceRepositoryRecord } from './lookups';
import type { MetadataModel } from './metadata-model';
import type { PackageRecord } from './packages';
import type { RestoreMethods } from './restore-handlers';
import { roleAllows, type Role } from './roles';
import { invalid } from './validation';
import { canSeePackage, packageFilter, visibleRepositoryIds, type Visibility } from './visibility';

/** Everything but garbage collection (gc/gc-handlers.ts) and the restore window (restore-handlers.ts). */
type Server = Omit<AsyncService<admin.AdminServiceServer>, 'getGcStatus' | 'runGc' | RestoreMethods>;
/** The source repository methods' names from before they said so (admin.proto), answered by the methods they name. */
type DeprecatedName = 'createRepository' | 'getRepository' | 'updateRepository' | 'listRepositories' | 'deleteRepository';

const ROLE_FROM_PROTO: Partial<Record<admin.Role, Role>> = {
  [admin.Role.ROLE_READ]: 'read',
  [admin.Role.ROLE_WRITE]: 'write',
  [admin.Role.ROLE_ADMIN]: 'admin',
};
const ROLE_TO_PROTO: Record<Role, admin.Role> = { read: admin.Role.ROLE_READ, write: admin.Role.ROLE_WRITE, admin: admin.Role.ROLE_ADMIN };

function requiredRole(role: admin.Role): Role {
  const mapped = ROLE_FROM_PROTO[role];
  if (!mapped) throw invalid('role', 'must be ROLE_READ, ROLE_WRITE or ROLE_ADMIN');
  return mapped;
}

const sourceRepositoryMessage = (r: SourceRepositoryRecord): admin.SourceRepository => ({ id: r.id, workspaceSlug: r.workspaceSlug, projectSlug: r.projectSlug, slug: r.slug, name: r.name, callerRole: admin.Role.ROLE_UNSPECIFIED });
const packageMessage = (p: PackageRecord): admin.Package => ({ id: p.id, workspaceSlug: p.workspaceSlug, name: p.name, sourceRepositoryId: p.sourceRepositoryId, createdAt: p.createdAt });

const denied = (what: string) => new RegistryError('DENIED', `only ${what} may do this`);
/** What a caller may not see answers exactly like what does not exist. */
const notFound = (what: string, field: string) => new RegistryError('NOT_FOUND', `${what} does not exist`, { field });

/** Served by the gateway's admin port from the indexer's read model; metadata's copy of the service does not answer them. */
const servedByGateway = () => new RegistryError('UNSUPPORTED', 'image listings are served by the gateway admin port');

/** The aggregates the admin API reaches. */
export type AdminModel = Pick<MetadataModel, 'workspaces' | 'projects' | 'sourceRepositories' | 'memberships' | 'packages' | 'access' | 'usage' | 'deletions' | 'restoreWindow'>;

/**
 * The admin API over the metadata aggregates, as the gateway forwards it (only the
 * gateway's certificate may call; each call carries the user's assertion).
 * Reads take any package scope and show only what the caller has a role on;
 * changes take admin:package: operators do everything, workspace admins
 * manage their workspace, repository admins their repository.
 */
export function adminHandlers(model: AdminModel, callers: CallerResolver): Server {
  /** Repositories as the caller sees them: with the caller's own role on each. */
  const withCallerRoles = async (caller: Caller, repositories: SourceRepositoryRecord[]): Promise<admin.SourceRepository[]> => {
    const roles = caller.operator ? undefined : await model.access.sourceRepositoryRoles(caller.userId, repositories.map((r) => r.id));
    return repositories.map((r) => {
      const role = caller.operator ? 'admin' : roles!.get(r.id);
      return { ...sourceRepositoryMessage(r), callerRole: role ? ROLE_TO_PROTO[role] : admin.Role.ROLE_UNSPECIFIED };
    });
  };
  /**
   * A package the caller may see, and whether their role allows `action` on it;
   * a package they may not see answers as one that does not exist.
   */
  const packageAction = async (caller: Caller, workspaceSlug: string, name: string, action: 'delete-tag' | 'delete-manifest'): Promise<string> => {
    const repository = `${workspaceSlug}/${name}`;
    if (caller.operator) return repository;
    let result: RoleOnPackage;
    try {
      result = await model.access.roleOn(caller.userId, repository);
    } catch (err) {
      if (err instanceof RegistryError && err.httpStatus < 500) throw notFound(`package ${repository.slice(0, 200)}`, 'name');
      throw err;
    }
    if (!result.packageExists || (!result.role && !result.publicPull)) throw notFound(`package ${repository.slice(0, 200)}`, 'name');
    if (!roleAllows(result.role, action)) throw denied(action === 'delete-tag' ? 'users with Write on the package' : 'Admins of the package');
    return repository;
  };

  const workspaceAdmin = async (ctx: CallContext, workspaceSlug: string): Promise<Caller> => {
    const caller = callers.changer(ctx);
    if (!caller.operator && !(await model.access.isWorkspaceAdmin(caller.userId, workspaceSlug))) throw denied(`operators and admins of workspace ${workspaceSlug}`);
    return caller;
  };
  const repositoryAdmin = async (ctx: CallContext, sourceRepositoryId: string): Promise<Caller> => {
    const caller = callers.changer(ctx);
    if (!caller.operator && !(await model.access.isSourceRepositoryAdmin(caller.userId, sourceRepositoryId))) throw denied('admins of the repository');
    return caller;
  };
  const operator = (ctx: CallContext): Caller => {
    const caller = callers.changer(ctx);
    if (!caller.operator) throw denied('operators');
    return caller;
  };
  /** A reader's view of a workspace; NOT_FOUND when they may see nothing in it. */
  const readable = async (ctx: CallContext, workspaceSlug: string): Promise<{ caller: Caller; visibility: Visibility }> => {
    const caller = callers.reader(ctx);
    const visibility = await model.access.visibility(caller.userId, workspaceSlug, caller.operator);
    if (!visibility.visible) throw notFound(`workspace ${workspaceSlug}`, 'workspace_slug');
    return { caller, visibility };
  };
  const readableRepository = async (ctx: CallContext, sourceRepositoryId: string): Promise<{ repository: SourceRepositoryRecord; visibility: Visibility }> => {
    const caller = callers.reader(ctx);
    const repository = await model.sourceRepositories.get(sourceRepositoryId);
    const visibility = await model.access.visibility(caller.userId, repository.workspaceSlug, caller.operator);
    const ids = visibleRepositoryIds(visibility);
    if (!visibility.visible || (ids && !ids.includes(repository.id))) throw notFound(`repository ${sourceRepositoryId}`, 'source_repository_id');
    return { repository, visibility };
  };

  const handlers: Omit<Server, DeprecatedName> = {
    async createWorkspace(request, ctx) {
      const caller = operator(ctx);
      return { workspace: await model.workspaces.create(request, originOfCall(ctx, caller)) };
    },
    async getWorkspace(request, ctx) {
      const { caller } = await readable(ctx, request.slug);
      const callerIsAdmin = caller.operator || (await model.access.isWorkspaceAdmin(caller.userId, request.slug));
      return { workspace: await model.workspaces.get(request.slug), callerIsAdmin };
    },
    async listWorkspaces(request, ctx) {
      const caller = callers.reader(ctx);
      const page = await model.workspaces.list(request.pageSize, request.pageToken, caller.operator ? undefined : { userId: caller.userId });
      return { workspaces: page.items, nextPageToken: page.nextPageToken };
    },
    async updateWorkspaceSettings(request, ctx) {
      const caller = await workspaceAdmin(ctx, request.slug);
      return {
        workspace: await model.workspaces.updateSettings(request.slug, {
          publicPull: request.publicPull,
          createPackagesOnPush: request.createPackagesOnPush,
          defaultSourceRepositoryId: request.defaultSourceRepositoryId,
          organization: request.organization,
          plan: request.plan,
          storageQuotaBytes: request.storageQuotaBytes,
          unlimitedStorage: request.unlimitedStorage,
          keepUntaggedManifests: request.keepUntaggedManifests,
        }, originOfCall(ctx, caller)),
      };
    },
    async addWorkspaceAdmin(request, ctx) {
      const caller = await workspaceAdmin(ctx, request.workspaceSlug);
      await model.workspaces.addAdmin(request.workspaceSlug, request.userId, originOfCall(ctx, caller));
      return {};
    },
    async deleteWorkspace(request, ctx) {
      const caller = operator(ctx);
      await model.workspaces.delete(request.slug, originOfCall(ctx, caller));
      return {};
    },
    async deleteProject(request, ctx) {
      const caller = await workspaceAdmin(ctx, request.workspaceSlug);
      await model.projects.delete(request.workspaceSlug, request.slug, originOfCall(ctx, caller));
      return {};
    },
    async deleteSourceRepository(request, ctx) {
      const caller = await repositoryAdmin(ctx, request.sourceRepositoryId);
      await model.sourceRepositories.delete(request.sourceRepositoryId, originOfCall(ctx, caller));
      return {};
    },
    async deletePackage(request, ctx) {
      const caller = callers.changer(ctx);
      const found = await model.packages.get(request.workspaceSlug, request.name);
      if (!caller.operator && !(await model.access.isSourceRepositoryAdmin(caller.userId, found.sourceRepositoryId))) throw denied('admins of the repository the package links to');
      await model.packages.delete(request.workspaceSlug, request.name, originOfCall(ctx, caller));
      return {};
    },
    async createProject(request, ctx) {
      const caller = await workspaceAdmin(ctx, request.workspaceSlug);
      return { project: await model.projects.create(request, originOfCall(ctx, caller)) };
    },
    async getProject(request, ctx) {
      const { visibility } = await readable(ctx, request.workspaceSlug);
      const project = await model.projects.get(request.workspaceSlug, request.slug);
      const ids = visibleRepositoryIds(visibility);
      if (ids && (await model.projects.list(request.workspaceSlug, 500, '', ids)).items.every((p) => p.id !== project.id)) throw notFound(`project ${request.slug}`, 'slug');
      return { project };
    },
    async updateProject(request, ctx) {
      const caller = await workspaceAdmin(ctx, request.workspaceSlug);
      return { project: await model.projects.rename(request.workspaceSlug, request.slug, request.name, originOfCall(ctx, caller)) };
    },
    async listProjects(request, ctx) {
      const { visibility } = await readable(ctx, request.workspaceSlug);
      const page = await model.projects.list(request.workspaceSlug, request.pageSize, request.pageToken, visibleRepositoryIds(visibility));
      return { projects: page.items, nextPageToken: page.nextPageToken };
    },
    async getSourceRepository(request, ctx) {
      const { repository } = await readableRepository(ctx, request.sourceRepositoryId);
      const [withRole] = await withCallerRoles(callers.reader(ctx), [repository]);
      return { sourceRepository: withRole };
    },
    async updateSourceRepository(request, ctx) {
      const caller = await repositoryAdmin(ctx, request.sourceRepositoryId);
      return { sourceRepository: sourceRepositoryMessage(await model.sourceRepositories.rename(request.sourceRepositoryId, request.name, originOfCall(ctx, caller))) };
    },
    async createSourceRepository(request, ctx) {
      const caller = await workspaceAdmin(ctx, request.workspaceSlug);
      return { sourceRepository: sourceRepositoryMessage(await model.sourceRepositories.create(request, originOfCall(ctx, caller))) };
    },
    async listSourceRepositories(request, ctx) {
      const { caller, visibility } = await readable(ctx, request.workspaceSlug);
      const page = await model.sourceRepositories.list(request.workspaceSlug, request.projectSlug, request.pageSize, request.pageToken, visibleRepositoryIds(visibility));
      return { sourceRepositories: await withCallerRoles(caller, page.items), nextPageToken: page.nextPageToken };
    },
    async setMembership(request, ctx) {
      const caller = await repositoryAdmin(ctx, request.sourceRepositoryId);
      await model.memberships.set(request.sourceRepositoryId, request.userId, requiredRole(request.role), originOfCall(ctx, caller));
      return { membership: { sourceRepositoryId: request.sourceRepositoryId, userId: request.userId, role: request.role, email: '' } };
    },
    async listMemberships(request, ctx) {
      const { repository, visibility } = await readableRepository(ctx, request.sourceRepositoryId);
      // Members are shown to members of the repository (and admins), not to holders of a package grant.
      if (!visibility.allPackages && !visibility.memberRepositoryIds.includes(repository.id)) throw notFound(`repository ${request.sourceRepositoryId}`, 'source_repository_id');
      const members = await model.memberships.list(request.sourceRepositoryId);
      return { memberships: members.map((m) => ({ sourceRepositoryId: request.sourceRepositoryId, userId: m.userId, role: ROLE_TO_PROTO[m.role], email: '' })) };
    },
    async removeMembership(request, ctx) {
      const caller = await repositoryAdmin(ctx, request.sourceRepositoryId);
      await model.memberships.remove(request.sourceRepositoryId, request.userId, originOfCall(ctx, caller));
      return {};
    },
    async createPackage(request, ctx) {
      const caller = callers.changer(ctx);
      // Operators act as the operator; everyone else must be Admin of the target repository (checked by the model).
      return { package: packageMessage(await model.packages.create({ ...request, actorUserId: caller.operator ? OPERATOR : caller.userId }, originOfCall(ctx, caller))) };
    },
    async getPackage(request, ctx) {
      const { visibility } = await readable(ctx, request.workspaceSlug);
      const found = await model.packages.get(request.workspaceSlug, request.name);
      if (!canSeePackage(visibility, found)) throw notFound(`package ${request.workspaceSlug}/${request.name}`, 'name');
      return { package: packageMessage(found) };
    },
    async listPackages(request, ctx) {
      const { visibility } = await readable(ctx, request.workspaceSlug);
      const page = await model.packages.list(request.workspaceSlug, request.pageSize, request.pageToken, packageFilter(visibility));
      return { packages: page.items.map(packageMessage), nextPageToken: page.nextPageToken };
    },
    async linkPackage(request, ctx) {
      const caller = callers.changer(ctx);
      return { package: packageMessage(await model.packages.link(request.workspaceSlug, request.name, request.sourceRepositoryId, caller.operator ? OPERATOR : caller.userId, originOfCall(ctx, caller))) };
    },
    async setPackageGrant(request, ctx) {
      const caller = await workspaceAdmin(ctx, request.workspaceSlug);
      const role = request.role === admin.Role.ROLE_UNSPECIFIED ? undefined : requiredRole(request.role);
      const packageId = await model.packages.setGrant(request.workspaceSlug, request.name, request.userId, role, originOfCall(ctx, caller));
      return { packageGrant: { packageId, userId: request.userId, role: request.role } };
    },
    async listImages() {
      throw servedByGateway();
    },
    async getImage() {
      throw servedByGateway();
    },
    async getTag() {
      throw servedByGateway();
    },
    async deleteTag(request, ctx) {
      const caller = callers.writer(ctx);
      const repository = await packageAction(caller, request.workspaceSlug, request.name, 'delete-tag');
      await model.deletions.deleteTag(repository, request.tag, originOfCall(ctx, caller));
      return {};
    },
    async deleteImage(request, ctx) {
      // As on the OCI API: the write scope for tags and images alike; the role decides which.
      const caller = callers.writer(ctx);
      const repository = await packageAction(caller, request.workspaceSlug, request.name, 'delete-manifest');
      const deleted = await model.deletions.deleteImage(repository, originOfCall(ctx, caller));
      ctx.logger.info({ repository, manifests: deleted.manifests, tags: deleted.tags, actor: caller.userId }, 'image deleted');
      return { deletedManifests: deleted.manifests, deletedTags: deleted.tags };
    },
    async deleteManifest(request, ctx) {
      const caller = callers.writer(ctx);
      const repository = await packageAction(caller, request.workspaceSlug, request.name, 'delete-manifest');
      const { tags } = await model.deletions.deleteManifest(repository, request.digest, originOfCall(ctx, caller));
      ctx.logger.info({ repository, digest: request.digest, tags, actor: caller.userId }, 'manifest deleted');
      return { deletedTags: tags };
    },
    async getStorageUsage(request, ctx) {
      const { visibility } = await readable(ctx, request.workspaceSlug);
      const usage = await model.usage.ofWorkspace(request.workspaceSlug);
      const all = usage.repositories.map((r) => ({ fullName: r.repository, bytes: r.bytes }));
      if (visibility.allPackages) return { workspaceBytes: usage.workspaceBytes, storageQuotaBytes: usage.storageQuotaBytes, packages: all, restoreWindow: await model.restoreWindow.usage(request.workspaceSlug) };
      // A caller who sees only some packages sees only their bytes (each blob once), never the workspace's total.
      const records = await model.packages.byRepositoryName(request.workspaceSlug, all.map((p) => p.fullName));
      const packages = all.filter((p) => { const pkg = records.get(p.fullName); return pkg !== undefined && canSeePackage(visibility, pkg); });
      const shown = packages.map((p) => p.fullName);
      return { workspaceBytes: await model.usage.bytesOf(shown), storageQuotaBytes: usage.storageQuotaBytes, packages, restoreWindow: await model.restoreWindow.usage(request.workspaceSlug, shown) };
    },
    async getEffectiveRole(request, ctx) {
      const caller = callers.reader(ctx);
      const workspaceSlug = request.fullName.split('/')[0] ?? '';
      const seesEverything = caller.operator || (await model.access.isWorkspaceAdmin(caller.userId, workspaceSlug));
      if (!seesEverything && caller.userId !== request.userId) throw denied('the user, workspace admins and operators');
      const result = await model.access.roleOn(request.userId, request.fullName);
      // Asking about oneself: a package one may not see answers as a missing one.
      const packageExists = result.packageExists && (seesEverything || result.role !== undefined || result.publicPull);
      return { role: result.role ? ROLE_TO_PROTO[result.role] : admin.Role.ROLE_UNSPECIFIED, packageExists, publicPull: result.publicPull };
    },
  };
  return {
    ...handlers,
    createRepository: handlers.createSourceRepository,
    getRepository: handlers.getSourceRepository,
    updateRepository: handlers.updateSourceRepository,
    listRepositories: handlers.listSourceRepositories,
    deleteRepository: handlers.deleteSourceRepository,
  };
}
