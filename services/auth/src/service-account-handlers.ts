import type { AccessStateWriter } from '@ocireg/access-state';
import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { users } from '@ocireg/proto';
import type { UserAssertion } from '@ocireg/service-identity';
import { originOfCall } from './change-origin';
import type { CredentialEvents } from './credential-events';
import type { ServiceAccountRecord, ServiceAccountStore } from './service-accounts';
import type { TokenStore, UserRecord } from './token-store';

type Handlers = Pick<AsyncService<users.UserServiceServer>, 'createServiceAccount' | 'listServiceAccounts' | 'deleteServiceAccount'>;

/**
 * Service accounts (docs/security.md): a workspace's admins (and operators)
 * create, list and delete them and manage their tokens; roles are given to
 * them like to anyone. Someone who may not manage a workspace's service
 * accounts is refused without learning which exist.
 */
export class ServiceAccounts {
  constructor(
    private readonly deps: {
      accounts: ServiceAccountStore;
      store: TokenStore;
      /** Asked of metadata. */
      isWorkspaceAdmin(userId: string, workspaceSlug: string): Promise<boolean>;
      revocations: Pick<AccessStateWriter, 'revokeToken'>;
      events: CredentialEvents;
    },
  ) {}

  /** Whether the caller manages this user as a service account of a workspace they administer. */
  async manages(caller: UserAssertion, user: UserRecord): Promise<boolean> {
    if (!user.serviceAccountWorkspace) return false;
    return caller.operator || (await this.deps.isWorkspaceAdmin(caller.userId, user.serviceAccountWorkspace));
  }

  private async requireWorkspaceAdmin(caller: UserAssertion, workspace: string, change: boolean): Promise<void> {
    if (change && !caller.scopes.includes('admin:package')) throw new RegistryError('DENIED', 'managing service accounts needs admin:package');
    if (caller.operator) return;
    if (!(await this.deps.isWorkspaceAdmin(caller.userId, workspace))) throw new RegistryError('DENIED', `only operators and admins of workspace ${workspace.slice(0, 64)} manage its service accounts`);
  }

  /** A token made for a service account, for the record. */
  tokenCreated(caller: UserAssertion, account: UserRecord, token: { id: string; scopes: string[]; expiresAt: string }, requestId: string): void {
    this.deps.events.record({ kind: 'service-account-token.created', actor: caller.userId, serviceAccountId: account.id, workspace: account.serviceAccountWorkspace, tokenId: token.id, scopes: token.scopes, expiresAt: token.expiresAt }, requestId);
  }

  tokensRevoked(caller: UserAssertion, account: UserRecord, tokenIds: string[], requestId: string): void {
    this.deps.events.record({ kind: 'service-account-token.revoked', actor: caller.userId, serviceAccountId: account.id, workspace: account.serviceAccountWorkspace, tokenIds }, requestId);
  }

  handlers(callerOf: (ctx: CallContext) => UserAssertion): Handlers {
    const { accounts, store, revocations, events } = this.deps;
    const find = async (workspace: string, idOrLogin: string): Promise<ServiceAccountRecord> => {
      const found = (await accounts.list(workspace)).find((a) => a.id === idOrLogin || a.email === idOrLogin.trim().toLowerCase() || a.name === idOrLogin);
      if (!found) throw new RegistryError('NOT_FOUND', `service account ${idOrLogin.slice(0, 200)} does not exist in ${workspace.slice(0, 64)}`, { field: 'service_account' });
      return found;
    };
    return {
      createServiceAccount: async (request, ctx) => {
        const caller = callerOf(ctx);
        await this.requireWorkspaceAdmin(caller, request.workspaceSlug, true);
        const account = await accounts.create(request.workspaceSlug, request.name, request.displayName, caller.userId, originOfCall(ctx, caller));
        events.record({ kind: 'service-account.created', actor: caller.userId, serviceAccountId: account.id, workspace: account.serviceAccountWorkspace, name: account.name }, ctx.requestId);
        return { serviceAccount: message(account) };
      },
      listServiceAccounts: async (request, ctx) => {
        const caller = callerOf(ctx);
        await this.requireWorkspaceAdmin(caller, request.workspaceSlug, false);
        return { serviceAccounts: (await accounts.list(request.workspaceSlug)).map(message) };
      },
      deleteServiceAccount: async (request, ctx) => {
        const caller = callerOf(ctx);
        await this.requireWorkspaceAdmin(caller, request.workspaceSlug, true);
        const account = await find(request.workspaceSlug, request.serviceAccount);
        // Its tokens first, so nothing it holds outlives it on any gateway.
        const revoked = await store.revokeAllOf(account.id);
        for (const token of revoked) await revocations.revokeToken(token.id, new Date(token.expiresAt));
        await accounts.markDeleted(account, revoked.map((t) => t.id), originOfCall(ctx, caller));
        events.record({ kind: 'service-account.deleted', actor: caller.userId, serviceAccountId: account.id, workspace: account.serviceAccountWorkspace, revokedTokenIds: revoked.map((t) => t.id) }, ctx.requestId);
        return {};
      },
    };
  }
}

function message(account: ServiceAccountRecord): users.ServiceAccount {
  return { id: account.id, workspaceSlug: account.serviceAccountWorkspace, name: account.name, loginName: account.email, displayName: account.displayName, createdAt: account.createdAt, createdBy: account.createdBy };
}
