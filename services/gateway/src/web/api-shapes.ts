import { admin } from '@ocireg/proto';

/** The JSON API's role words, as registryctl and docs/security.md name them ("" for none). */
export type RoleWord = 'read' | 'write' | 'admin' | '';

const ROLE_WORDS: Record<number, RoleWord> = { [admin.Role.ROLE_READ]: 'read', [admin.Role.ROLE_WRITE]: 'write', [admin.Role.ROLE_ADMIN]: 'admin' };
const ROLES_BY_WORD: Record<string, admin.Role> = { read: admin.Role.ROLE_READ, write: admin.Role.ROLE_WRITE, admin: admin.Role.ROLE_ADMIN };

export function roleWord(role: admin.Role): RoleWord {
  return ROLE_WORDS[role] ?? '';
}

export function roleOfWord(word: string): admin.Role | undefined {
  return ROLES_BY_WORD[word];
}

export function repositoryJson(repository: admin.Repository) {
  return { id: repository.id, workspaceSlug: repository.workspaceSlug, projectSlug: repository.projectSlug, slug: repository.slug, name: repository.name, callerRole: roleWord(repository.callerRole) };
}

export function workspaceJson(workspace: admin.Workspace) {
  return {
    slug: workspace.slug,
    name: workspace.name,
    organization: workspace.organization,
    publicPull: workspace.publicPull,
    createPackagesOnPush: workspace.createPackagesOnPush,
    defaultRepositoryId: workspace.defaultRepositoryId,
    createdAt: workspace.createdAt,
    plan: workspace.plan,
    storageQuotaBytes: workspace.storageQuotaBytes ?? null,
  };
}
