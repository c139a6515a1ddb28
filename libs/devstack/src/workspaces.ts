import { createGrpcClient, unaryCall } from '@ocireg/grpc';
import { admin } from '@ocireg/proto';

/**
 * A workspace ready for pushes: an organization, a project `main` with a
 * repository `app`, and packages created on first push (linked to `app`).
 * Idempotent: request ids derive from the slug.
 */
export async function createPushableWorkspace(adminAddress: string, slug: string): Promise<{ slug: string; repositoryId: string }> {
  const client = createGrpcClient(admin.AdminServiceClient, adminAddress);
  try {
    await unaryCall(client.createWorkspace.bind(client), { requestId: `bootstrap-ws-${slug}`, slug, name: slug, organization: `${slug}-org` });
    await unaryCall(client.createProject.bind(client), { requestId: `bootstrap-project-${slug}`, workspaceSlug: slug, slug: 'main', name: 'Main' });
    const { repository } = await unaryCall(client.createRepository.bind(client), { requestId: `bootstrap-repo-${slug}`, workspaceSlug: slug, projectSlug: 'main', slug: 'app', name: 'App' });
    await unaryCall(client.updateWorkspaceSettings.bind(client), { slug, createPackagesOnPush: true, defaultRepositoryId: repository!.id });
    return { slug, repositoryId: repository!.id };
  } finally {
    client.close();
  }
}
