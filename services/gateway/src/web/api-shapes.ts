import { admin } from '@ocireg/proto';
import type { RoleWord, SourceRepository, Workspace } from '@ocireg/web-api';

/** The JSON API's shapes of what the admin API answers (@ocireg/web-api defines them). */

const ROLE_WORDS: Record<number, RoleWord> = { [admin.Role.ROLE_READ]: 'read', [admin.Role.ROLE_WRITE]: 'write', [admin.Role.ROLE_ADMIN]: 'admin' };
const ROLES_BY_WORD: Record<Exclude<RoleWord, ''>, admin.Role> = { read: admin.Role.ROLE_READ, write: admin.Role.ROLE_WRITE, admin: admin.Role.ROLE_ADMIN };

export function roleWord(role: admin.Role): RoleWord {
  return ROLE_WORDS[role] ?? '';
}

export function roleOfWord(word: Exclude<RoleWord, ''>): admin.Role {
  return ROLES_BY_WORD[word];
}

export function sourceRepositoryJson(repository: admin.SourceRepository): SourceRepository {
  return { id: repository.id, workspaceSlug: repository.workspaceSlug, projectSlug: repository.projectSlug, slug: repository.slug, name: repository.name, callerRole: roleWord(repository.callerRole) };
}

export function workspaceJson(workspace: admin.Workspace): Workspace {
  return {
    slug: workspace.slug,
    name: workspace.name,
    organization: workspace.organization,
    publicPull: workspace.publicPull,
    createPackagesOnPush: workspace.createPackagesOnPush,
    defaultSourceRepositoryId: workspace.defaultSourceRepositoryId,
    createdAt: workspace.createdAt,
    plan: workspace.plan,
    storageQuotaBytes: workspace.storageQuotaBytes ?? null,
  };
}

/** A message field of a gRPC answer that the service always sets (proto3 makes every message field optional). */
export function answered<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the answer has no ${what}`);
  return value;
}
