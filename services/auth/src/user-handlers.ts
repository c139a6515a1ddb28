import type { AccessStateWriter } from '@ocireg/access-state';
import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { UserAssertion, UserAssertionVerifier } from '@ocireg/service-identity';
import { users } from '@ocireg/proto';
import { originOfCall } from './change-origin';
import type { InvitationPolicy } from './invitation-policy';
import type { PasswordLinks, LinkPurpose } from './password-links';
import type { CredentialEvents } from './credential-events';
import { RepositoryTokens, tokenInfo, type SourceRepositoryRoleLookup } from './repository-token-handlers';
import { ServiceAccounts } from './service-account-handlers';
import type { ServiceAccountStore } from './service-accounts';
import { TrustedIssuers } from './trusted-issuer-handlers';
import type { TrustedIssuerStore } from './trusted-issuers';
import type { TokenStore, UserRecord } from './token-store';

const PURPOSES: Partial<Record<users.PasswordLinkPurpose, LinkPurpose>> = {
  [users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_INVITE]: 'invite',
  [users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_RESET]: 'reset',
};

/** What user handlers need to know beyond auth's own tables. */
export interface UserHandlerPolicy {
  /** Asked of metadata: whether a user administers a workspace. */
  isWorkspaceAdmin(userId: string, workspaceSlug: string): Promise<boolean>;
  /** Asked of metadata: a user's own role on a source repository. */
  sourceRepositoryRole: SourceRepositoryRoleLookup;
  /** Asked of metadata: source repositories of a workspace by "<project>/<repository>" ("" for none). */
  resolvePaths(workspaceSlug: string, paths: string[]): Promise<string[]>;
  /** Whose password a workspace admin's invitation may set. */
  invitations: Pick<InvitationPolicy, 'checkWorkspaceInvitation'>;
}

/**
 * UserService (users and API tokens), as the gateway forwards it from its
 * admin port: the caller is the user assertion the gateway attached.
 * Callers manage their own tokens, operators everyone's; a token creates
 * tokens only with admin:token and never beyond itself (TokenStore.createToken).
 */
export function userHandlers(deps: {
  store: TokenStore;
  verifier: UserAssertionVerifier;
  revocations: Pick<AccessStateWriter, 'revokeToken'>;
  links: PasswordLinks;
  policy: UserHandlerPolicy;
  events: CredentialEvents;
  serviceAccounts: ServiceAccountStore;
  trustedIssuers: TrustedIssuerStore;
}): AsyncService<users.UserServiceServer> {
  const { store, verifier, revocations, links, policy, events } = deps;
  const repositoryTokens = new RepositoryTokens({ store, roleOn: policy.sourceRepositoryRole, revocations, events });
  const serviceAccounts = new ServiceAccounts({ accounts: deps.serviceAccounts, store, isWorkspaceAdmin: policy.isWorkspaceAdmin, revocations, events });
  const trustedIssuers = new TrustedIssuers({ issuers: deps.trustedIssuers, isWorkspaceAdmin: policy.isWorkspaceAdmin, resolvePaths: policy.resolvePaths, events });

  const callerOf = (ctx: CallContext): UserAssertion => {
    const header = String(ctx.metadata.get('authorization')[0] ?? '');
    if (!header.startsWith('Bearer ')) throw new RegistryError('UNAUTHORIZED', 'this call needs the user assertion the gateway attaches');
    return verifier.verify(header.slice(7).trim());
  };
  /**
   * The user named by id or email, when the caller may act on them: themselves,
   * anyone for operators, a service account for its workspace's admins (else
   * NOT_FOUND, as if there were none).
   */
  const subject = async (caller: UserAssertion, idOrEmail: string): Promise<UserRecord> => {
    const [user] = await store.lookupUsers([idOrEmail]);
    if (user && (caller.operator || user.id === caller.userId || (await serviceAccounts.manages(caller, user)))) return user;
    throw new RegistryError('NOT_FOUND', `user ${idOrEmail.slice(0, 200)} does not exist`, { field: 'user_id' });
  };

  return {
    async createUser(request, ctx) {
      const caller = callerOf(ctx);
      if (!caller.operator || !caller.scopes.includes('admin:package')) throw new RegistryError('DENIED', 'only operators create users (with an admin:package token)');
      return { user: await store.createUser(request.email, request.displayName, originOfCall(ctx, caller)) };
    },
    async getUser(request, ctx) {
      return { user: await subject(callerOf(ctx), request.email) };
    },
    async createToken(request, ctx) {
      const caller = callerOf(ctx);
      const user = await subject(caller, request.userId);
      // Every token-made token is bounded by its creator; a UI session (no token) is bounded by the user's roles alone.
      if (!caller.tokenId && !caller.sessionId) throw new RegistryError('UNAUTHORIZED', 'no credential behind this call');
      const created = await store.createToken(user.id, request.name, request.expiresInSeconds, request.scopes, originOfCall(ctx, caller), caller.tokenId ? { tokenId: caller.tokenId } : undefined, caller.userId);
      ctx.logger.info({ tokenId: created.token.id, userId: created.token.userId, scopes: created.token.scopes, parentTokenId: created.token.parentTokenId }, 'API token created');
      if (user.serviceAccountWorkspace) serviceAccounts.tokenCreated(caller, user, created.token, ctx.requestId);
      return { token: tokenInfo(created.token), secret: created.secret };
    },
    async listTokens(request, ctx) {
      const user = await subject(callerOf(ctx), request.userId);
      return { tokens: (await store.listTokens(user.id)).map(tokenInfo) };
    },
    ...repositoryTokens.handlers(callerOf),
    ...serviceAccounts.handlers(callerOf),
    ...trustedIssuers.handlers(callerOf),
    async revokeToken(request, ctx) {
      const caller = callerOf(ctx);
      const token = await store.token(request.tokenId);
      if (token?.sourceRepositoryId) {
        await repositoryTokens.revoke(caller, token, ctx.requestId, originOfCall(ctx, caller));
        return {};
      }
      // A service account's tokens are its workspace's admins' to revoke too.
      const [owner] = token && !caller.operator && token.userId !== caller.userId ? await store.lookupUsers([token.userId]) : [];
      const ofServiceAccount = owner !== undefined && (await serviceAccounts.manages(caller, owner));
      if (!token || (!caller.operator && token.userId !== caller.userId && !ofServiceAccount)) throw new RegistryError('NOT_FOUND', `token ${request.tokenId.slice(0, 40)} does not exist`, { field: 'token_id' });
      const revoked = await store.revokeToken(token.id, originOfCall(ctx, caller));
      // Every gateway drops them at once (not only when their registry tokens expire).
      for (const each of revoked) await revocations.revokeToken(each.id, new Date(each.expiresAt));
      ctx.logger.info({ tokenIds: revoked.map((t) => t.id) }, 'API token revoked, with the tokens created from it');
      if (ofServiceAccount) serviceAccounts.tokensRevoked(caller, owner, revoked.map((t) => t.id), ctx.requestId);
      return {};
    },
    /**
     * Operators (admin:package) create invitation and reset links for anyone.
     * A workspace admin (admin:package, naming the workspace) only invites,
     * and only people InvitationPolicy says the workspace owns.
     */
    async createPasswordLink(request, ctx) {
      const caller = callerOf(ctx);
      const purpose = PURPOSES[request.purpose];
      if (!purpose) throw new RegistryError('INVALID_ARGUMENT', 'purpose: must be PASSWORD_LINK_PURPOSE_INVITE or PASSWORD_LINK_PURPOSE_RESET', { field: 'purpose' });
      if (!caller.scopes.includes('admin:package')) throw new RegistryError('DENIED', 'creating invitation and reset links needs admin:package');
      // The workspace a workspace admin invites to; undefined for operators, who act for the whole registry.
      const workspace = caller.operator ? undefined : request.workspaceSlug;
      if (workspace !== undefined) {
        if (!workspace) throw new RegistryError('DENIED', 'only operators create links without naming the workspace you administer (workspace_slug)');
        if (!(await policy.isWorkspaceAdmin(caller.userId, workspace))) throw new RegistryError('DENIED', `only operators and admins of workspace ${workspace.slice(0, 64)} may invite here`);
        if (purpose !== 'invite') throw new RegistryError('DENIED', 'only operators create password reset links');
      }
      let [user] = await store.lookupUsers([request.user]);
      const origin = originOfCall(ctx, caller);
      if (!user && purpose === 'invite') user = { ...(await store.createUser(request.user, '', origin, workspace)), query: request.user };
      if (!user) throw new RegistryError('NOT_FOUND', `user ${request.user.slice(0, 200)} does not exist`, { field: 'user' });
      if (user.serviceAccountWorkspace) throw new RegistryError('DENIED', 'a service account has no password: it signs in with its tokens only', { field: 'user' });
      if (workspace !== undefined) await policy.invitations.checkWorkspaceInvitation(user, workspace);
      const link = await links.create(user, purpose, Number(request.expiresInSeconds), origin, workspace);
      ctx.logger.info({ userId: user.id, purpose, createdBy: caller.userId, workspace }, 'password link created');
      return { userId: user.id, email: user.email, expiresAt: link.expiresAt, secret: link.secret, url: '' };
    },
  };
}
