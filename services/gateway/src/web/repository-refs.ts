import { RegistryError } from '@ocireg/errors';
import { unaryCall, type ClientCallOptions } from '@ocireg/grpc';
import type { admin } from '@ocireg/proto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The JSON API takes a source repository by id or by slug (`?sourceRepository=app`, with
 * `project=` when two projects have one of that name). Slugs are looked up in
 * the caller's own listing, so a repository they may not see is not found.
 */
export async function sourceRepositoryIdOf(client: admin.AdminServiceClient, workspaceSlug: string, reference: string, projectSlug: string, options: ClientCallOptions): Promise<string> {
  if (UUID.test(reference)) return reference;
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(reference)) throw new RegistryError('INVALID_ARGUMENT', 'sourceRepository: must be a source repository id or slug', { field: 'sourceRepository' });
  const { sourceRepositories } = await unaryCall(client.listSourceRepositories.bind(client), { workspaceSlug, projectSlug, pageSize: 500, pageToken: '' }, options);
  const matches = sourceRepositories.filter((r) => r.slug === reference);
  if (matches.length === 0) throw new RegistryError('NOT_FOUND', `repository ${reference} does not exist in ${workspaceSlug}${projectSlug ? `/${projectSlug}` : ''}`, { field: 'sourceRepository' });
  if (matches.length > 1) {
    throw new RegistryError('INVALID_ARGUMENT', `repository ${reference} exists in several projects (${matches.map((r) => r.projectSlug).join(', ')}); add project=<slug>`, { field: 'project' });
  }
  return matches[0]!.id;
}
