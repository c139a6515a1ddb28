import { createPushableWorkspace, createUserWithToken, type RunningRegistry } from '@ocireg/devstack';
import { status } from '@grpc/grpc-js';
import { createGrpcClient, unaryCall } from '@ocireg/grpc';
import { admin, users } from '@ocireg/proto';
import type { DemoCredentials } from './secrets';

export const DEMO_WORKSPACE = 'demo';
export const DEMO_EMAIL = 'demo@ocireg.local';
/** The package the printed docker lines push to. */
export const DEMO_PACKAGE = 'hello';
const DEMO_SCOPES = ['read:package', 'write:package', 'admin:package'];
const DEMO_TOKEN_SECONDS = 90 * 86_400;

/**
 * The --demo seed: workspace "demo" (project main, repository app, package
 * "hello" linked to it; other packages are created on first push) and a user
 * who is Admin of that repository, with an API token. Idempotent: a second start reuses the saved token while it is
 * still active, and only issues a new one (to the same user) when it is not.
 */
export async function seedDemo(registry: RunningRegistry, saved: DemoCredentials | undefined): Promise<{ credentials: DemoCredentials; newToken: boolean }> {
  const operator = registry.operator.authorization;
  const workspace = await createPushableWorkspace(registry.adminAddress, DEMO_WORKSPACE, operator);
  await ensurePackage(registry.adminAddress, workspace.repositoryId, operator);
  if (saved && (await isActive(registry.adminAddress, saved))) return { credentials: saved, newToken: false };

  const existingUserId = await userIdByEmail(registry.adminAddress, DEMO_EMAIL, operator);
  if (!existingUserId) {
    const created = await createUserWithToken(
      registry.adminAddress,
      { email: DEMO_EMAIL, scopes: DEMO_SCOPES, repositoryId: workspace.repositoryId, role: 'admin', expiresInSeconds: DEMO_TOKEN_SECONDS },
      operator,
    );
    return { credentials: { workspace: DEMO_WORKSPACE, email: created.email, token: created.token }, newToken: true };
  }

  // The user survives from an earlier start, but its saved token is gone or no longer active.
  const authClient = createGrpcClient(users.UserServiceClient, registry.adminAddress, { kind: 'public' });
  const adminClient = createGrpcClient(admin.AdminServiceClient, registry.adminAddress, { kind: 'public' });
  try {
    const created = await unaryCall(authClient.createToken.bind(authClient), { userId: existingUserId, name: 'quickstart demo', expiresInSeconds: DEMO_TOKEN_SECONDS, scopes: DEMO_SCOPES }, { authorization: operator });
    await unaryCall(adminClient.setMembership.bind(adminClient), { repositoryId: workspace.repositoryId, userId: existingUserId, role: admin.Role.ROLE_ADMIN }, { authorization: operator });
    return { credentials: { workspace: DEMO_WORKSPACE, email: DEMO_EMAIL, token: created.secret }, newToken: true };
  } finally {
    authClient.close();
    adminClient.close();
  }
}

async function ensurePackage(adminAddress: string, repositoryId: string, authorization: string): Promise<void> {
  const client = createGrpcClient(admin.AdminServiceClient, adminAddress, { kind: 'public' });
  try {
    await unaryCall(client.createPackage.bind(client), { requestId: '', workspaceSlug: DEMO_WORKSPACE, name: DEMO_PACKAGE, repositoryId, actorUserId: '' }, { authorization });
  } catch (err) {
    if ((err as { grpcStatus?: number }).grpcStatus !== status.ALREADY_EXISTS) throw err;
  } finally {
    client.close();
  }
}

/** Whether the saved token still works: it looks up its own user. */
async function isActive(adminAddress: string, saved: DemoCredentials): Promise<boolean> {
  const client = createGrpcClient(users.UserServiceClient, adminAddress, { kind: 'public' });
  try {
    await unaryCall(client.getUser.bind(client), { email: saved.email }, { authorization: `Bearer ${saved.token}` });
    return true;
  } catch (err) {
    if ((err as { grpcStatus?: number }).grpcStatus === status.UNAUTHENTICATED) return false;
    throw err;
  } finally {
    client.close();
  }
}

async function userIdByEmail(adminAddress: string, email: string, authorization: string): Promise<string | undefined> {
  const client = createGrpcClient(users.UserServiceClient, adminAddress, { kind: 'public' });
  try {
    return (await unaryCall(client.getUser.bind(client), { email }, { authorization })).user?.id;
  } catch (err) {
    if ((err as { grpcStatus?: number }).grpcStatus === status.NOT_FOUND) return undefined;
    throw err;
  } finally {
    client.close();
  }
}
