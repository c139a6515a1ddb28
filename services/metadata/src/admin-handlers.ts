import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { Caller, CallerResolver } from './callers';
import type { ImageListings } from './image-listings';
import { admin } from '@ocireg/proto';
import { OPERATOR, type PackageRecord, type ProductModel, type RepositoryRecord } from './product-model';
import type { Role } from './roles';
import { invalid } from './validation';

type Server = AsyncService<admin.AdminServiceServer>;

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

const repositoryMessage = (r: RepositoryRecord): admin.Repository => ({ id: r.id, workspaceSlug: r.workspaceSlug, projectSlug: r.projectSlug, slug: r.slug, name: r.name });
const packageMessage = (p: PackageRecord): admin.Package => ({ id: p.id, workspaceSlug: p.workspaceSlug, name: p.name, repositoryId: p.repositoryId, createdAt: p.createdAt });

const denied = (what: string) => new RegistryError('DENIED', `only ${what} may do this`);

/**
 * The admin API over ProductModel. Every call is authenticated (an API token
 * with admin:package) and authorized: operators do everything, workspace
 * admins manage their workspace, repository admins their repository.
 */
export function adminHandlers(model: ProductModel, callers: CallerResolver, listings: ImageListings): Server {
  const workspaceAdmin = async (ctx: CallContext, workspaceSlug: string): Promise<Caller> => {
    const caller = await callers.resolve(ctx);
    if (!caller.operator && !(await model.isWorkspaceAdmin(caller.userId, workspaceSlug))) throw denied(`operators and admins of workspace ${workspaceSlug}`);
    return caller;
  };
  const workspaceReader = async (ctx: CallContext, workspaceSlug: string): Promise<Caller> => {
    const caller = await callers.resolve(ctx);
    if (!caller.operator && !(await model.visibleWorkspaces(caller.userId)).includes(workspaceSlug)) throw denied(`members of workspace ${workspaceSlug}`);
    return caller;
  };
  const repositoryAdmin = async (ctx: CallContext, repositoryId: string): Promise<Caller> => {
    const caller = await callers.resolve(ctx);
    if (!caller.operator && !(await model.isRepositoryAdmin(caller.userId, repositoryId))) throw denied('admins of the repository');
    return caller;
  };
  const operator = async (ctx: CallContext): Promise<Caller> => {
    const caller = await callers.resolve(ctx);
    if (!caller.operator) throw denied('operators');
    return caller;
  };

  return {
    async createWorkspace(request, ctx) {
      await operator(ctx);
      return { workspace: await model.createWorkspace(request) };
    },
    async getWorkspace(request, ctx) {
      await workspaceReader(ctx, request.slug);
      return { workspace: await model.getWorkspace(request.slug) };
    },
    async listWorkspaces(request, ctx) {
      const caller = await callers.resolve(ctx);
      const page = await model.listWorkspaces(request.pageSize, request.pageToken);
      const visible = caller.operator ? undefined : new Set(await model.visibleWorkspaces(caller.userId));
      return { workspaces: visible ? page.items.filter((w) => visible.has(w.slug)) : page.items, nextPageToken: page.nextPageToken };
    },
    async updateWorkspaceSettings(request, ctx) {
      await workspaceAdmin(ctx, request.slug);
      return {
        workspace: await model.updateWorkspaceSettings(request.slug, {
          publicPull: request.publicPull,
          createPackagesOnPush: request.createPackagesOnPush,
          defaultRepositoryId: request.defaultRepositoryId,
          organization: request.organization,
          plan: request.plan,
          storageQuotaBytes: request.storageQuotaBytes,
          unlimitedStorage: request.unlimitedStorage,
        }),
      };
    },
    async addWorkspaceAdmin(request, ctx) {
      await workspaceAdmin(ctx, request.workspaceSlug);
      await model.addWorkspaceAdmin(request.workspaceSlug, request.userId);
      return {};
    },
    async deleteWorkspace(request, ctx) {
      await operator(ctx);
      await model.deleteWorkspace(request.slug);
      return {};
    },
    async deleteProject(request, ctx) {
      await workspaceAdmin(ctx, request.workspaceSlug);
      await model.deleteProject(request.workspaceSlug, request.slug);
      return {};
    },
    async deleteRepository(request, ctx) {
      await repositoryAdmin(ctx, request.repositoryId);
      await model.deleteRepository(request.repositoryId);
      return {};
    },
    async deletePackage(request, ctx) {
      const caller = await callers.resolve(ctx);
      const found = await model.getPackage(request.workspaceSlug, request.name);
      if (!caller.operator && !(await model.isRepositoryAdmin(caller.userId, found.repositoryId))) throw denied('admins of the repository the package links to');
      await model.deletePackage(request.workspaceSlug, request.name);
      return {};
    },
    async createProject(request, ctx) {
      await workspaceAdmin(ctx, request.workspaceSlug);
      return { project: await model.createProject(request) };
    },
    async getProject(request, ctx) {
      await workspaceReader(ctx, request.workspaceSlug);
      return { project: await model.getProject(request.workspaceSlug, request.slug) };
    },
    async updateProject(request, ctx) {
      await workspaceAdmin(ctx, request.workspaceSlug);
      return { project: await model.renameProject(request.workspaceSlug, request.slug, request.name) };
    },
    async getRepository(request, ctx) {
      const repository = await model.getRepository(request.repositoryId);
      await workspaceReader(ctx, repository.workspaceSlug);
      return { repository: repositoryMessage(repository) };
    },
    async updateRepository(request, ctx) {
      await repositoryAdmin(ctx, request.repositoryId);
      return { repository: repositoryMessage(await model.renameRepository(request.repositoryId, request.name)) };
    },
    async listProjects(request, ctx) {
      await workspaceReader(ctx, request.workspaceSlug);
      const page = await model.listProjects(request.workspaceSlug, request.pageSize, request.pageToken);
      return { projects: page.items, nextPageToken: page.nextPageToken };
    },
    async createRepository(request, ctx) {
      await workspaceAdmin(ctx, request.workspaceSlug);
      return { repository: repositoryMessage(await model.createRepository(request)) };
    },
    async listRepositories(request, ctx) {
      await workspaceReader(ctx, request.workspaceSlug);
      const page = await model.listRepositories(request.workspaceSlug, request.projectSlug, request.pageSize, request.pageToken);
      return { repositories: page.items.map(repositoryMessage), nextPageToken: page.nextPageToken };
    },
    async setMembership(request, ctx) {
      await repositoryAdmin(ctx, request.repositoryId);
      await model.setMembership(request.repositoryId, request.userId, requiredRole(request.role));
      return { membership: { repositoryId: request.repositoryId, userId: request.userId, role: request.role } };
    },
    async listMemberships(request, ctx) {
      const repository = await model.getRepository(request.repositoryId);
      await workspaceReader(ctx, repository.workspaceSlug);
      const members = await model.listMemberships(request.repositoryId);
      return { memberships: members.map((m) => ({ repositoryId: request.repositoryId, userId: m.userId, role: ROLE_TO_PROTO[m.role] })) };
    },
    async removeMembership(request, ctx) {
      await repositoryAdmin(ctx, request.repositoryId);
      await model.removeMembership(request.repositoryId, request.userId);
      return {};
    },
    async createPackage(request, ctx) {
      const caller = await callers.resolve(ctx);
      // Operators act as the operator; everyone else must be Admin of the target repository (checked by the model).
      return { package: packageMessage(await model.createPackage({ ...request, actorUserId: caller.operator ? OPERATOR : caller.userId })) };
    },
    async getPackage(request, ctx) {
      await workspaceReader(ctx, request.workspaceSlug);
      return { package: packageMessage(await model.getPackage(request.workspaceSlug, request.name)) };
    },
    async listPackages(request, ctx) {
      await workspaceReader(ctx, request.workspaceSlug);
      const page = await model.listPackages(request.workspaceSlug, request.pageSize, request.pageToken);
      return { packages: page.items.map(packageMessage), nextPageToken: page.nextPageToken };
    },
    async linkPackage(request, ctx) {
      const caller = await callers.resolve(ctx);
      return { package: packageMessage(await model.linkPackage(request.workspaceSlug, request.name, request.repositoryId, caller.operator ? OPERATOR : caller.userId)) };
    },
    async setPackageGrant(request, ctx) {
      await workspaceAdmin(ctx, request.workspaceSlug);
      const role = request.role === admin.Role.ROLE_UNSPECIFIED ? undefined : requiredRole(request.role);
      const packageId = await model.setPackageGrant(request.workspaceSlug, request.name, request.userId, role);
      return { packageGrant: { packageId, userId: request.userId, role: request.role } };
    },
    async listImages(request, ctx) {
      await workspaceReader(ctx, request.workspaceSlug);
      return listings.listImages(request, ctx.requestId);
    },
    async getImage(request, ctx) {
      await workspaceReader(ctx, request.workspaceSlug);
      return listings.getImage(request.workspaceSlug, request.name, ctx.requestId);
    },
    async getTag(request, ctx) {
      await workspaceReader(ctx, request.workspaceSlug);
      return listings.getTag(request.workspaceSlug, request.name, request.tag, ctx.requestId);
    },
    async getStorageUsage(request, ctx) {
      await workspaceReader(ctx, request.workspaceSlug);
      return model.storageUsage(request.workspaceSlug);
    },
    async getEffectiveRole(request, ctx) {
      const caller = await callers.resolve(ctx);
      const workspaceSlug = request.repository.split('/')[0] ?? '';
      if (!caller.operator && caller.userId !== request.userId && !(await model.isWorkspaceAdmin(caller.userId, workspaceSlug))) throw denied('the user, workspace admins and operators');
      const result = await model.roleOn(request.userId, request.repository);
      return { role: result.role ? ROLE_TO_PROTO[result.role] : admin.Role.ROLE_UNSPECIFIED, packageExists: result.packageExists, publicPull: result.publicPull };
    },
  };
}
