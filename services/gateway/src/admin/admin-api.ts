import { unaryCall, type AsyncService, type CallContext, type ClientCallOptions } from '@ocireg/grpc';
import { admin, audit, immutableTags, replication, retention, upstreams, users, webhooks } from '@ocireg/proto';
import type { ServiceClients } from '../clients';
import { peerAddress, type AdminCaller, type AdminCallers } from './admin-callers';
import { ImageListings } from './image-listings';
import { passwordLinkUrl } from './password-link-url';
import { UserResolver } from './users-by-email';

type Forwarded = (request: unknown, ctx: CallContext) => Promise<unknown>;
type Client = Record<string, (request: unknown, metadata: never, options: never, callback: never) => unknown>;

/**
 * Every method of a service, forwarded to the internal service that implements
 * it with the caller's user assertion (the callee checks it, and the scopes and
 * roles each method needs). `prepare` may rewrite a request first, `finish` a response.
 */
function forwardAll<S>(
  definition: Record<string, unknown>,
  client: object,
  callers: AdminCallers,
  hooks: { prepare?: Record<string, (request: never, ctx: CallContext) => Promise<unknown>>; finish?: Record<string, (response: never, ctx: CallContext) => Promise<unknown>> } = {},
): AsyncService<S> {
  const forwarded: Record<string, Forwarded> = {};
  for (const method of Object.keys(definition)) {
    forwarded[method] = async (request, ctx) => {
      const caller = await callers.of(ctx);
      const prepared = hooks.prepare?.[method] ? await hooks.prepare[method](request as never, ctx) : request;
      const call = (client as Client)[method]!.bind(client) as never;
      const response = await unaryCall(call, prepared, callOptions(caller, ctx));
      return hooks.finish?.[method] ? hooks.finish[method](response as never, ctx) : response;
    };
  }
  return forwarded as AsyncService<S>;
}

function callOptions(caller: AdminCaller, ctx: CallContext): ClientCallOptions {
  const userAgent = ctx.metadata.get('user-agent')[0];
  return {
    requestId: ctx.requestId,
    authorization: `Bearer ${caller.assertion}`,
    deadlineMs: 30_000,
    // Recorded with the change (the audit log): the user is the assertion's, the address the admin port's peer.
    origin: { actor: caller.userId, email: caller.email, tokenId: caller.tokenId, sessionId: caller.sessionId, channel: 'admin-api', clientAddress: peerAddress(ctx.peer), userAgent: typeof userAgent === 'string' ? userAgent : '' },
  };
}

/**
 * The admin API for internal teams, served on the gateway's admin port apart
 * from the internal RPCs: AdminService is metadata's (image listings come from
 * the indexer here, filtered by what the caller may see), UserService is
 * auth's, AuditService metadata's, WebhookService the webhooks service's. Users named by email are resolved to ids at auth first.
 */
export function adminApi(
  clients: ServiceClients,
  callers: AdminCallers,
  publicUrl?: string,
): {
  admin: AsyncService<admin.AdminServiceServer>;
  users: AsyncService<users.UserServiceServer>;
  upstreams: AsyncService<upstreams.UpstreamServiceServer>;
  replication: AsyncService<replication.ReplicationServiceServer>;
  /** Retention rules (issue 24). */
  retention: AsyncService<retention.RetentionServiceServer>;
  immutableTags: AsyncService<immutableTags.ImmutableTagServiceServer>;
  audit: AsyncService<audit.AuditServiceServer>;
  webhooks: AsyncService<webhooks.WebhookServiceServer>;
} {
  const listings = new ImageListings(clients.indexer, clients.metadata);
  const people = new UserResolver(clients.auth);
  const withUserId = async <R extends { userId: string }>(request: R, ctx: CallContext): Promise<R> => ({ ...request, userId: await people.idOf(request.userId, ctx.requestId) });
  /** A user given a role in a workspace (a service account only in its own). */
  const withRoleHolder = <R extends { userId: string }>(workspaceOf: (request: R, ctx: CallContext) => Promise<string>) =>
    async (request: R, ctx: CallContext): Promise<R> => ({ ...request, userId: await people.idOf(request.userId, ctx.requestId, () => workspaceOf(request, ctx)) });
  const sourceRepositoryWorkspace = async (request: { sourceRepositoryId: string }, ctx: CallContext): Promise<string> => {
    const found = await unaryCall(clients.admin.getSourceRepository.bind(clients.admin), { sourceRepositoryId: request.sourceRepositoryId }, callOptions(await callers.of(ctx), ctx));
    return found.sourceRepository?.workspaceSlug ?? '';
  };

  const adminService = forwardAll<admin.AdminServiceServer>(admin.AdminServiceService, clients.admin, callers, {
    prepare: {
      setMembership: withRoleHolder<admin.SetMembershipRequest>(sourceRepositoryWorkspace),
      removeMembership: withUserId,
      addWorkspaceAdmin: withRoleHolder(async (request: admin.AddWorkspaceAdminRequest) => request.workspaceSlug),
      setPackageGrant: withRoleHolder(async (request: admin.SetPackageGrantRequest) => request.workspaceSlug),
      getEffectiveRole: withUserId,
    },
    finish: {
      // The restore window: deletions on /v2 name their user by id only.
      listDeleted: async (response: admin.ListDeletedResponse, ctx) => {
        const emails = await people.emailsOf([...new Set(response.deletions.filter((d) => !d.actorEmail && d.actorUserId).map((d) => d.actorUserId))], ctx.requestId).catch(() => new Map<string, string>());
        return { ...response, deletions: response.deletions.map((d) => ({ ...d, actorEmail: d.actorEmail || emails.get(d.actorUserId) || '' })) };
      },
      listMemberships: async (response: admin.ListMembershipsResponse, ctx) => {
        const emails = await people.emailsOf(response.memberships.map((m) => m.userId), ctx.requestId);
        return { memberships: response.memberships.map((m) => ({ ...m, email: emails.get(m.userId) ?? '' })) };
      },
    },
  });
  return {
    admin: {
      ...adminService,
      async listImages(request, ctx) {
        return listings.listImages(request, await callers.reader(ctx), ctx.requestId);
      },
      async getImage(request, ctx) {
        return listings.getImage(request.workspaceSlug, request.name, await callers.reader(ctx), ctx.requestId);
      },
      async getTag(request, ctx) {
        return listings.getTag(request.workspaceSlug, request.name, request.tag, await callers.reader(ctx), ctx.requestId);
      },
    },
    // Metadata's: upstream registries of a workspace (pull-through cache).
    upstreams: forwardAll<upstreams.UpstreamServiceServer>(upstreams.UpstreamServiceService, clients.upstreams, callers),
    // Metadata's: replication targets of a workspace and their jobs (docs/replication.md).
    replication: forwardAll<replication.ReplicationServiceServer>(replication.ReplicationServiceService, clients.replication, callers),
    // Metadata's: retention rules, previews and applies (issue 24).
    retention: forwardAll<retention.RetentionServiceServer>(retention.RetentionServiceService, clients.retention, callers),
    // Metadata's: immutable tag rules (issue 24).
    immutableTags: forwardAll<immutableTags.ImmutableTagServiceServer>(immutableTags.ImmutableTagServiceService, clients.immutableTags, callers),
    // Entries by a user named by email: their id (an id is taken as it is: its user may be gone).
    audit: forwardAll<audit.AuditServiceServer>(audit.AuditServiceService, clients.audit, callers, {
      prepare: { listAuditEntries: async (request: audit.ListAuditEntriesRequest, ctx) => (request.actor.includes('@') ? { ...request, actor: await people.idOf(request.actor, ctx.requestId) } : request) },
    }),
    webhooks: forwardAll<webhooks.WebhookServiceServer>(webhooks.WebhookServiceService, clients.webhooks, callers),
    users: forwardAll<users.UserServiceServer>(users.UserServiceService, clients.users, callers, {
      finish: {
        // The link to hand on: the web UI's address when the gateway knows it (PUBLIC_URL), else its path.
        createPasswordLink: async (response: users.CreatePasswordLinkResponse) => ({ ...response, url: passwordLinkUrl(publicUrl, response.secret) }),
      },
    }),
  };
}
