import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { users } from '@ocireg/proto';
import type { UserAssertion } from '@ocireg/service-identity';
import { originOfCall } from './change-origin';
import { checkIssuerUrl } from './ci-identity';
import type { CredentialEvents } from './credential-events';
import type { ClaimMappingRecord, TrustedIssuerRecord, TrustedIssuerStore } from './trusted-issuers';

type Handlers = Pick<AsyncService<users.UserServiceServer>, 'createTrustedIssuer' | 'listTrustedIssuers' | 'deleteTrustedIssuer'>;

/** What each kind of CI system's ID tokens look like: its issuer (when fixed) and the claim that names the repository. */
const KINDS: Record<string, { issuerUrl?: string; repositoryClaim: string }> = {
  'github-actions': { issuerUrl: 'https://token.actions.githubusercontent.com', repositoryClaim: 'repository' },
  'gitlab-ci': { issuerUrl: 'https://gitlab.com', repositoryClaim: 'project_path' },
  // Its issuer names the Bitbucket workspace: https://api.bitbucket.org/2.0/workspaces/<name>/pipelines-config/identity/oidc
  'bitbucket-pipelines': { repositoryClaim: 'repositoryUuid' },
  custom: { repositoryClaim: '' },
};

const invalid = (field: string, problem: string) => new RegistryError('INVALID_ARGUMENT', `${field}: ${problem}`, { field });

/**
 * Trusted CI issuers of a workspace, managed by its admins (and operators).
 * The mappings name source repositories as "<project>/<repository>", resolved
 * by metadata to ids when they are saved: a mapping can only reach the
 * workspace's own repositories.
 */
export class TrustedIssuers {
  constructor(
    private readonly deps: {
      issuers: TrustedIssuerStore;
      isWorkspaceAdmin(userId: string, workspaceSlug: string): Promise<boolean>;
      /** Asked of metadata: ids of "<project>/<repository>" paths ("" for none). */
      resolvePaths(workspaceSlug: string, paths: string[]): Promise<string[]>;
      events: CredentialEvents;
    },
  ) {}

  private async requireWorkspaceAdmin(caller: UserAssertion, workspace: string, change: boolean): Promise<void> {
    if (change && !caller.scopes.includes('admin:package')) throw new RegistryError('DENIED', 'managing trusted issuers needs admin:package');
    if (caller.operator) return;
    if (!(await this.deps.isWorkspaceAdmin(caller.userId, workspace))) throw new RegistryError('DENIED', `only operators and admins of workspace ${workspace.slice(0, 64)} manage its trusted issuers`);
  }

  handlers(callerOf: (ctx: CallContext) => UserAssertion): Handlers {
    const { issuers, events } = this.deps;
    return {
      createTrustedIssuer: async (request, ctx) => {
        const caller = callerOf(ctx);
        await this.requireWorkspaceAdmin(caller, request.workspaceSlug, true);
        const kind = request.kind || 'custom';
        const preset = KINDS[kind];
        if (!preset) throw invalid('kind', `must be one of ${Object.keys(KINDS).join(', ')}`);
        if (!request.name.trim() || request.name.length > 100) throw invalid('name', 'must be 1-100 characters');
        const issuerUrl = checkIssuerUrl('issuer_url', request.issuerUrl || preset.issuerUrl || '');
        const jwksUrl = request.jwksUrl ? checkIssuerUrl('jwks_url', request.jwksUrl) : '';
        const repositoryClaim = request.repositoryClaim || preset.repositoryClaim;
        if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(repositoryClaim)) throw invalid('repository_claim', 'must name a claim (letters, digits, _)');
        if (request.mappings.length === 0 || request.mappings.length > 100) throw invalid('mappings', 'must map 1-100 claim values to source repositories');
        const mappings = await this.resolve(request.workspaceSlug, request.mappings);
        const created = await issuers.create({ workspaceSlug: request.workspaceSlug, name: request.name.trim(), kind, issuerUrl, jwksUrl, repositoryClaim, mappings, createdBy: caller.userId }, originOfCall(ctx, caller));
        events.record({ kind: 'trusted-issuer.created', actor: caller.userId, workspace: created.workspaceSlug, trustedIssuerId: created.id, issuerUrl, repositoryClaim, mappings }, ctx.requestId);
        return { trustedIssuer: message(created) };
      },
      listTrustedIssuers: async (request, ctx) => {
        await this.requireWorkspaceAdmin(callerOf(ctx), request.workspaceSlug, false);
        return { trustedIssuers: (await issuers.list(request.workspaceSlug)).map(message) };
      },
      deleteTrustedIssuer: async (request, ctx) => {
        const caller = callerOf(ctx);
        await this.requireWorkspaceAdmin(caller, request.workspaceSlug, true);
        if (!(await issuers.delete(request.workspaceSlug, request.id, originOfCall(ctx, caller)))) throw new RegistryError('NOT_FOUND', `trusted issuer ${request.id.slice(0, 40)} does not exist in ${request.workspaceSlug.slice(0, 64)}`, { field: 'id' });
        events.record({ kind: 'trusted-issuer.deleted', actor: caller.userId, workspace: request.workspaceSlug, trustedIssuerId: request.id }, ctx.requestId);
        return {};
      },
    };
  }

  private async resolve(workspace: string, mappings: users.ClaimMapping[]): Promise<ClaimMappingRecord[]> {
    const paths = [...new Set(mappings.flatMap((m) => [m.sourceRepository, ...m.pullSourceRepositories]))];
    const ids = new Map(paths.map((path, i) => [path, i]));
    const resolved = await this.deps.resolvePaths(workspace, paths);
    const idOf = (path: string) => {
      const id = resolved[ids.get(path) ?? -1];
      if (!id) throw invalid('mappings', `${path.slice(0, 200) || '(empty)'} is not a source repository of ${workspace.slice(0, 64)} ("<project>/<repository>")`);
      return id;
    };
    return mappings.map((m) => {
      if (!m.claimValue || m.claimValue.length > 300) throw invalid('mappings', 'each needs a claim_value of at most 300 characters');
      return { claimValue: m.claimValue, sourceRepository: m.sourceRepository, sourceRepositoryId: idOf(m.sourceRepository), pullSourceRepositories: m.pullSourceRepositories, pullSourceRepositoryIds: m.pullSourceRepositories.map(idOf) };
    });
  }
}

function message(record: TrustedIssuerRecord): users.TrustedIssuer {
  return {
    id: record.id,
    workspaceSlug: record.workspaceSlug,
    name: record.name,
    kind: record.kind,
    issuerUrl: record.issuerUrl,
    jwksUrl: record.jwksUrl,
    repositoryClaim: record.repositoryClaim,
    mappings: record.mappings,
    createdAt: record.createdAt,
    createdBy: record.createdBy,
  };
}
