import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import { parseRepositoryName } from '@ocireg/oci';
import type { indexer, metadata } from '@ocireg/proto';

/**
 * What a user may see in a workspace's listings, from metadata: everything,
 * or the packages of their source repositories plus their grants. A
 * workspace with nothing visible answers as if it did not exist.
 */
export async function visibilityIn(client: metadata.RegistryMetadataServiceClient, userId: string, workspace: string, requestId: string): Promise<indexer.Visibility> {
  const visibility = await unaryCall(client.getVisibility.bind(client), { userId, workspace }, { requestId });
  if (!visibility.visible) throw new RegistryError('NAME_UNKNOWN', `workspace ${workspace.slice(0, 100)} does not exist`, { workspace: workspace.slice(0, 100) });
  return { allPackages: visibility.allPackages, sourceRepositoryIds: visibility.sourceRepositoryIds, packageNames: visibility.packageNames };
}

/** One image's details need a role on its package (or a public workspace); otherwise it does not exist. */
export async function requireVisibleImage(client: metadata.RegistryMetadataServiceClient, userId: string, workspace: string, name: string, requestId: string): Promise<void> {
  const repository = `${workspace}/${name}`;
  let visible = false;
  try {
    parseRepositoryName(repository);
    const { role, packageExists, publicPull } = await unaryCall(client.resolveRole.bind(client), { userId, name: repository, sourceRepositoryId: '', pullSourceRepositoryIds: [] }, { requestId });
    visible = packageExists && (role !== '' || publicPull);
  } catch (err) {
    if (!(err instanceof RegistryError) || err.httpStatus >= 500) throw err;
  }
  if (!visible) throw new RegistryError('NAME_UNKNOWN', `image ${repository.slice(0, 200)} does not exist`, { name: repository.slice(0, 200) });
}
