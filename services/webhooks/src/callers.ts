import { auditOrigin, type AuditOrigin } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { requestOriginOf, unaryCall, type CallContext } from '@ocireg/grpc';
import type { metadata } from '@ocireg/proto';
import type { UserAssertionVerifier } from '@ocireg/service-identity';

const READ_SCOPES = ['read:package', 'write:package', 'admin:package'];

export interface Caller {
  userId: string;
  operator: boolean;
  /** The origin of the changes it makes (the audit log's). */
  origin: AuditOrigin;
}

/**
 * Who calls WebhookService (the gateway forwards each call with the user's
 * assertion, checked here against the internal CA) and whether they manage a
 * workspace's hooks: operators every workspace's, a workspace's admins
 * (metadata says who they are) its own.
 */
export class WebhookAccess {
  constructor(private readonly verifier: UserAssertionVerifier, private readonly metadata: Pick<metadata.RegistryMetadataServiceClient, 'checkWorkspaceAdmin'>) {}

  /** The caller, when it may manage the hooks of `workspace`; `change` needs admin:package. */
  async manager(ctx: CallContext, workspace: string, change: boolean): Promise<Caller> {
    const header = String(ctx.metadata.get('authorization')[0] ?? '');
    if (!header.startsWith('Bearer ')) throw new RegistryError('UNAUTHORIZED', 'webhook calls need authorization: Bearer <API token> in their metadata');
    const assertion = this.verifier.verify(header.slice(7).trim());
    if (change ? !assertion.scopes.includes('admin:package') : !assertion.scopes.some((scope) => READ_SCOPES.includes(scope))) {
      throw new RegistryError('DENIED', change ? 'changing webhooks needs a token with the admin:package scope' : 'reading webhooks needs a token with read:package (or a stronger package scope)');
    }
    const user = { userId: assertion.userId, email: assertion.email, tokenId: assertion.tokenId, sessionId: assertion.sessionId };
    const caller = { userId: assertion.userId, operator: assertion.operator, origin: auditOrigin('webhooks', requestOriginOf(ctx.metadata), ctx.requestId, user) };
    if (assertion.operator) return caller;
    const client = this.metadata;
    const { workspaceAdmin } = await unaryCall(client.checkWorkspaceAdmin.bind(client), { userId: assertion.userId, workspaceSlug: workspace }, { requestId: ctx.requestId });
    if (!workspaceAdmin) throw new RegistryError('DENIED', `only operators and admins of workspace ${workspace.slice(0, 64)} manage its webhooks`);
    return caller;
  }
}
