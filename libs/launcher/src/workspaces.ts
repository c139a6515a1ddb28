import { createGrpcClient, unaryCall } from '@ocireg/grpc';
import { admin, users } from '@ocireg/proto';

/**
 * A workspace ready for pushes: an organization, a project `main` with a
 * repository `app`, and packages created on first push (linked to `app`).
 * Idempotent: request ids derive from the slug.
 */
export async function createPushableWorkspace(adminAddress: string, slug: string, authorization: string): Promise<{ slug: string; sourceRepositoryId: string }> {
  const client = createGrpcClient(admin.AdminServiceClient, adminAddress, { kind: 'public' });
  const as = { authorization };
  try {
    await unaryCall(client.createWorkspace.bind(client), { requestId: `bootstrap-ws-${slug}`, slug, name: slug, organization: `${slug}-org` }, as);
    await unaryCall(client.createProject.bind(client), { requestId: `bootstrap-project-${slug}`, workspaceSlug: slug, slug: 'main', name: 'Main' }, as);
    const { sourceRepository: repository } = await unaryCall(client.createSourceRepository.bind(client), { requestId: `bootstrap-repo-${slug}`, workspaceSlug: slug, projectSlug: 'main', slug: 'app', name: 'App' }, as);
    await unaryCall(client.updateWorkspaceSettings.bind(client), { slug, createPackagesOnPush: true, defaultSourceRepositoryId: repository!.id }, as);
    return { slug, sourceRepositoryId: repository!.id };
  } finally {
    client.close();
  }
}

export interface UserToken {
  userId: string;
  email: string;
  /** The API token secret: the password of `docker login --username <email>`. */
  token: string;
  tokenId: string;
}

/** A user with an API token and (optionally) a role on a repository, as an operator would set them up. */
export async function createUserWithToken(
  /** The admin port (the gateway's). */
  adminAddress: string,
  options: { email: string; scopes: string[]; sourceRepositoryId?: string; role?: 'read' | 'write' | 'admin'; expiresInSeconds?: number },
  /** An operator's "Bearer <API token>" (with admin:token to create tokens). */
  authorization: string,
): Promise<UserToken> {
  const authClient = createGrpcClient(users.UserServiceClient, adminAddress, { kind: 'public' });
  const adminClient = createGrpcClient(admin.AdminServiceClient, adminAddress, { kind: 'public' });
  const as = { authorization };
  try {
    const { user } = await unaryCall(authClient.createUser.bind(authClient), { email: options.email, displayName: options.email }, as);
    const created = await unaryCall(authClient.createToken.bind(authClient), { userId: user!.id, name: 'e2e', expiresInSeconds: options.expiresInSeconds ?? 3600, scopes: options.scopes }, as);
    if (options.sourceRepositoryId && options.role) {
      const role = { read: admin.Role.ROLE_READ, write: admin.Role.ROLE_WRITE, admin: admin.Role.ROLE_ADMIN }[options.role];
      await unaryCall(adminClient.setMembership.bind(adminClient), { sourceRepositoryId: options.sourceRepositoryId, userId: user!.id, role }, as);
    }
    return { userId: user!.id, email: user!.email, token: created.secret, tokenId: created.token!.id };
  } finally {
    authClient.close();
    adminClient.close();
  }
}
