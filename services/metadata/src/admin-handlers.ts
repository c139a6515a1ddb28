import type { AsyncService } from '@ocireg/grpc';
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

/** The admin API over ProductModel. Until the auth issue authenticates callers, an empty actor is the operator. */
export function adminHandlers(model: ProductModel): Server {
  return {
    async createWorkspace(request) {
      return { workspace: await model.createWorkspace(request) };
    },
    async getWorkspace(request) {
      return { workspace: await model.getWorkspace(request.slug) };
    },
    async listWorkspaces(request) {
      const page = await model.listWorkspaces(request.pageSize, request.pageToken);
      return { workspaces: page.items, nextPageToken: page.nextPageToken };
    },
    async updateWorkspaceSettings(request) {
      return {
        workspace: await model.updateWorkspaceSettings(request.slug, {
          publicPull: request.publicPull,
          createPackagesOnPush: request.createPackagesOnPush,
          defaultRepositoryId: request.defaultRepositoryId,
          organization: request.organization,
        }),
      };
    },
    async addWorkspaceAdmin(request) {
      await model.addWorkspaceAdmin(request.workspaceSlug, request.userId);
      return {};
    },
    async createProject(request) {
      return { project: await model.createProject(request) };
    },
    async listProjects(request) {
      const page = await model.listProjects(request.workspaceSlug, request.pageSize, request.pageToken);
      return { projects: page.items, nextPageToken: page.nextPageToken };
    },
    async createRepository(request) {
      return { repository: repositoryMessage(await model.createRepository(request)) };
    },
    async listRepositories(request) {
      const page = await model.listRepositories(request.workspaceSlug, request.projectSlug, request.pageSize, request.pageToken);
      return { repositories: page.items.map(repositoryMessage), nextPageToken: page.nextPageToken };
    },
    async setMembership(request) {
      await model.setMembership(request.repositoryId, request.userId, requiredRole(request.role));
      return { membership: { repositoryId: request.repositoryId, userId: request.userId, role: request.role } };
    },
    async removeMembership(request) {
      await model.removeMembership(request.repositoryId, request.userId);
      return {};
    },
    async createPackage(request) {
      return { package: packageMessage(await model.createPackage({ ...request, actorUserId: request.actorUserId || OPERATOR })) };
    },
    async getPackage(request) {
      return { package: packageMessage(await model.getPackage(request.workspaceSlug, request.name)) };
    },
    async listPackages(request) {
      const page = await model.listPackages(request.workspaceSlug, request.pageSize, request.pageToken);
      return { packages: page.items.map(packageMessage), nextPageToken: page.nextPageToken };
    },
    async linkPackage(request) {
      return { package: packageMessage(await model.linkPackage(request.workspaceSlug, request.name, request.repositoryId, request.actorUserId || OPERATOR)) };
    },
    async setPackageGrant(request) {
      const role = request.role === admin.Role.ROLE_UNSPECIFIED ? undefined : requiredRole(request.role);
      const packageId = await model.setPackageGrant(request.workspaceSlug, request.name, request.userId, role);
      return { packageGrant: { packageId, userId: request.userId, role: request.role } };
    },
    async getEffectiveRole(request) {
      const result = await model.roleOn(request.userId, request.repository);
      return { role: result.role ? ROLE_TO_PROTO[result.role] : admin.Role.ROLE_UNSPECIFIED, packageExists: result.packageExists, publicPull: result.publicPull };
    },
  };
}
