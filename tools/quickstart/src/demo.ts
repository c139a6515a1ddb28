import { createPushableWorkspace, createUserWithToken, type RunningRegistry } from '@ocireg/launcher';
import { status } from '@grpc/grpc-js';
import { createGrpcClient, unaryCall } from '@ocireg/grpc';
import { admin, users } from '@ocireg/proto';
import { randomBytes } from 'node:crypto';
import { pushDemoImages } from './demo-images';
import type { DemoCredentials } from './secrets';

export const DEMO_WORKSPACE = 'demo';
export const DEMO_EMAIL = 'demo@ocireg.local';
/** The package the printed docker lines push to. */
export const DEMO_PACKAGE = 'hello';
const DEMO_SCOPES = ['read:package', 'write:package', 'admin:package'];
const DEMO_TOKEN_SECONDS = 90 * 86_400;

/**
 * The --demo seed: workspace "demo" (project main, repository app, package
 * "hello" linked to it; other packages are created on first push), a user
 * who is Admin of that repository, with an API token and a web UI password,
 * and a few images to look at (examples/web, multi-platform, and tools/cli). Idempotent: a second start reuses the saved token while it is
 * still active, and only issues a new one (to the same user) when it is not.
 */
export async function seedDemo(registry: RunningRegistry, saved: DemoCredentials | undefined): Promise<{ credentials: DemoCredentials; changed: boolean }> {
  const seeded = await seedUserAndToken(registry, saved);
  let { credentials } = seeded;
  let changed = seeded.newToken;
  // A web UI password for the demo user, kept in secrets.json so every start prints the same one.
  if (!credentials.password) {
    credentials = { ...credentials, password: await setDemoPassword(registry) };
    changed = true;
  }
  await pushDemoImages(registry.gatewayUrl, DEMO_WORKSPACE, credentials.email, credentials.token);
  return { credentials, changed };
}

/** A random password set through a reset link (as an operator would), redeemed at the gateway like the web UI does. */
async function setDemoPassword(registry: RunningRegistry): Promise<string> {
  const client = createGrpcClient(users.UserServiceClient, registry.adminAddress, { kind: 'public' });
  let secret: string;
  try {
    const link = await unaryCall(client.createPasswordLink.bind(client), { user: DEMO_EMAIL, purpose: users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_RESET, expiresInSeconds: 600, workspaceSlug: '' }, { authorization: registry.operator.authorization });
    secret = link.secret;
  } finally {
    client.close();
  }
  const password = `demo-${randomBytes(9).toString('base64url')}`;
  const response = await fetch(`${registry.gatewayUrl}/api/v1/password-links/redeem`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: registry.gatewayUrl }, body: JSON.stringify({ secret, password }) });
  if (!response.ok) throw new Error(`setting the demo password failed: HTTP ${response.status} ${await response.text()}`);
  return password;
}

async function seedUserAndToken(registry: RunningRegistry, saved: DemoCredentials | undefined): Promise<{ credentials: DemoCredentials; newToken: boolean }> {
  const operator = registry.operator.authorization;
  const workspace = await createPushableWorkspace(registry.adminAddress, DEMO_WORKSPACE, operator);
  await ensurePackage(registry.adminAddress, workspace.sourceRepositoryId, operator);
  if (saved && (await isActive(registry.adminAddress, saved))) return { credentials: saved, newToken: false };

  const existingUserId = await userIdByEmail(registry.adminAddress, DEMO_EMAIL, operator);
  if (!existingUserId) {
    const created = await createUserWithToken(
      registry.adminAddress,
      { email: DEMO_EMAIL, scopes: DEMO_SCOPES, sourceRepositoryId: workspace.sourceRepositoryId, role: 'admin', expiresInSeconds: DEMO_TOKEN_SECONDS },
      operator,
    );
    return { credentials: { workspace: DEMO_WORKSPACE, email: created.email, token: created.token, password: saved?.password }, newToken: true };
  }

  // The user survives from an earlier start, but its saved token is gone or no longer active.
  const authClient = createGrpcClient(users.UserServiceClient, registry.adminAddress, { kind: 'public' });
  const adminClient = createGrpcClient(admin.AdminServiceClient, registry.adminAddress, { kind: 'public' });
  try {
    const created = await unaryCall(authClient.createToken.bind(authClient), { userId: existingUserId, name: 'quickstart demo', expiresInSeconds: DEMO_TOKEN_SECONDS, scopes: DEMO_SCOPES }, { authorization: operator });
    await unaryCall(adminClient.setMembership.bind(adminClient), { sourceRepositoryId: workspace.sourceRepositoryId, userId: existingUserId, role: admin.Role.ROLE_ADMIN }, { authorization: operator });
    return { credentials: { workspace: DEMO_WORKSPACE, email: DEMO_EMAIL, token: created.secret, password: saved?.password }, newToken: true };
  } finally {
    authClient.close();
    adminClient.close();
  }
}

async function ensurePackage(adminAddress: string, sourceRepositoryId: string, authorization: string): Promise<void> {
  const client = createGrpcClient(admin.AdminServiceClient, adminAddress, { kind: 'public' });
  try {
    await unaryCall(client.createPackage.bind(client), { requestId: '', workspaceSlug: DEMO_WORKSPACE, name: DEMO_PACKAGE, sourceRepositoryId, actorUserId: '' }, { authorization });
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
