import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { accessStateBackend, createAccessStateWriter } from '@ocireg/access-state';
import { createGrpcClient, runService, serveGrpcService, unaryCall } from '@ocireg/grpc';
import { createLogger } from '@ocireg/logger';
import { createMetricsRegistry } from '@ocireg/metrics';
import { auth, metadata, PROTO_DIR, PROTO_FILES, users } from '@ocireg/proto';
import { loadServiceTls, UserAssertionSigner, UserAssertionVerifier } from '@ocireg/service-identity';
import { callersOf } from '@ocireg/topology';
import { authHandlers } from './auth-handlers';
import { loadAuthConfig } from './config';
import { migrate } from './migrate';
import { systemOrigin } from './change-origin';
import { CredentialChecker } from './credentials';
import { CiIdentities } from './ci-identity';
import { CredentialEvents } from './credential-events';
import { TrustedIssuerStore } from './trusted-issuers';
import { FailedLogins } from './failed-logins';
import { InvitationPolicy } from './invitation-policy';
import { createLoginLimiter } from './login-limiter';
import { RegistryTokenIssuer, type RoleLookup } from './registry-tokens';
import type { PackageRole } from './scopes';
import { loadSigningKeys } from './signing';
import { TokenStore } from './token-store';
import { userHandlers } from './user-handlers';
import { PasswordHasher } from './passwords';
import { PasswordLinks } from './password-links';
import { PasswordSignIn } from './password-sign-in';
import { PasswordStore } from './password-store';
import { OidcAccounts } from './oidc-accounts';
import { loadOidcProviders } from './oidc-providers';
import { OidcSignIn, type ApplyProviderRoles } from './oidc-sign-in';
import { SecretHasher } from './secret-hasher';
import { ServiceAccountStore } from './service-accounts';
import { SessionStore } from './session-store';

const ROLES = ['read', 'write', 'admin'] as const;

runService(async () => {
  const config = loadAuthConfig();
  const logger = createLogger({ service: 'auth', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('auth');
  const tls = loadServiceTls(config.INTERNAL_TLS_DIR, 'auth');

  if (config.MIGRATE_ON_START) await migrate(config.DATABASE_URL, logger);
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 10 });
  pool.on('error', (err) => logger.error({ err }, 'idle PostgreSQL client failed'));
  // Without REDIS_URL (embedded mode): login failures counted in memory, revocations through PostgreSQL.
  const redis = config.REDIS_URL ? new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 }) : undefined;
  const revocations = createAccessStateWriter(accessStateBackend(config), logger);

  const { keys, ephemeral } = loadSigningKeys(config.AUTH_SIGNING_KEY, config.AUTH_PREVIOUS_PUBLIC_KEYS);
  if (ephemeral) logger.warn('AUTH_SIGNING_KEY is not set: using an ephemeral signing key (tokens die with this process; set it in production)');

  // The role comes from metadata: package -> linked repository -> the user's role there, plus grants.
  const metadataClient = createGrpcClient(metadata.RegistryMetadataServiceClient, config.METADATA_ADDR, { kind: 'internal', tls, service: 'metadata' });
  const roles: RoleLookup = {
    async roleOf(subject, repository) {
      const request = 'userId' in subject
        ? { userId: subject.userId, name: repository, sourceRepositoryId: '', pullSourceRepositoryIds: [] }
        : { userId: '', name: repository, sourceRepositoryId: subject.sourceRepositoryId, pullSourceRepositoryIds: subject.pullSourceRepositoryIds };
      const response = await unaryCall(metadataClient.resolveRole.bind(metadataClient), request);
      return { role: (ROLES as readonly string[]).includes(response.role) ? (response.role as PackageRole) : undefined, publicPull: response.publicPull };
    },
  };

  const store = new TokenStore(pool, config.AUTH_TOKEN_PEPPER, config.AUTH_MAX_TOKEN_DAYS);
  if (config.BOOTSTRAP_ADMIN_TOKEN && config.BOOTSTRAP_ADMIN_EMAIL) {
    await store.bootstrap(config.BOOTSTRAP_ADMIN_EMAIL, config.BOOTSTRAP_ADMIN_TOKEN, systemOrigin('auth/bootstrap'));
    if (!config.OPERATOR_EMAILS.includes(config.BOOTSTRAP_ADMIN_EMAIL.toLowerCase())) logger.warn('BOOTSTRAP_ADMIN_EMAIL is not in OPERATOR_EMAILS: the bootstrap user is not an operator');
  }
  const limiter = createLoginLimiter(redis, { perAccountAndIp: config.LOGIN_FAILURE_LIMIT, perIp: config.LOGIN_FAILURE_LIMIT_PER_IP });
  // Every credential event goes through here (beside the audit log's rows, written with the changes).
  const events = new CredentialEvents(logger, pool);
  // Refused logins are audited (each a transaction of its own); nothing else about them is kept.
  const failures = new FailedLogins(pool);
  // CI jobs log in with their ID tokens, from issuers the workspaces trust.
  const trustedIssuers = new TrustedIssuerStore(pool);
  const ci = new CiIdentities({ issuers: trustedIssuers, audience: config.CI_ID_TOKEN_AUDIENCE, loginSeconds: config.CI_LOGIN_SECONDS });
  const credentials = new CredentialChecker({ store, limiter, failures, ci });
  const issuer = new RegistryTokenIssuer({ store, keys, roles, credentials, tokenSeconds: config.REGISTRY_TOKEN_SECONDS, events, stillTrusted: async (id) => (await trustedIssuers.get(id)) !== undefined });
  const isOperator = (email: string) => config.OPERATOR_EMAILS.includes(email.toLowerCase());
  // The web UI: passwords (argon2id), sessions and invitation links; secrets stored as HMACs with the pepper.
  const secrets = new SecretHasher(config.AUTH_TOKEN_PEPPER);
  const sessions = new SessionStore(pool, secrets, { idleSeconds: config.SESSION_IDLE_TIMEOUT_SECONDS, maxAgeSeconds: config.SESSION_MAX_AGE_SECONDS });
  const passwords = new PasswordStore(pool);
  const hasher = new PasswordHasher();
  const links = new PasswordLinks(pool, secrets);
  const signIn = new PasswordSignIn({ users: store, passwords, hasher, limiter, sessions, events, failures, enabled: config.PASSWORD_SIGN_IN });
  // Single sign-on: the identity providers operators configured; their groups give roles through metadata.
  const providers = loadOidcProviders(config.OIDC_PROVIDERS, config.OIDC_PROVIDERS_FILE);
  if (!config.PASSWORD_SIGN_IN && providers.length === 0) logger.warn('PASSWORD_SIGN_IN is false and no OIDC provider is configured: nobody can sign in to the web UI');
  const applyRoles: ApplyProviderRoles = (userId, provider, grants) => unaryCall(metadataClient.applyIdentityProviderRoles.bind(metadataClient), { userId, provider, grants });
  const oidc = new OidcSignIn({ providers, pool, secrets, accounts: new OidcAccounts(pool, store), sessions, applyRoles, events });
  const isWorkspaceAdmin = async (userId: string, workspaceSlug: string) =>
    (await unaryCall(metadataClient.checkWorkspaceAdmin.bind(metadataClient), { userId, workspaceSlug })).workspaceAdmin;
  const sourceRepositoryRole = async (userId: string, sourceRepositoryId: string) => {
    const found = await unaryCall(metadataClient.getSourceRepositoryRole.bind(metadataClient), { userId, sourceRepositoryId });
    return { exists: found.exists, role: (ROLES as readonly string[]).includes(found.role) ? (found.role as PackageRole) : undefined, workspaceSlug: found.workspaceSlug };
  };
  const resolvePaths = async (workspaceSlug: string, paths: string[]) =>
    (await unaryCall(metadataClient.resolveSourceRepositoryPaths.bind(metadataClient), { workspaceSlug, paths })).sourceRepositoryIds;
  const invitations = new InvitationPolicy({
    store,
    passwords,
    isOperator,
    workspacesOf: async (userId) => (await unaryCall(metadataClient.listUserWorkspaces.bind(metadataClient), { userId })).workspaceSlugs,
  });
  const pruneSessions = setInterval(() => void sessions.prune().catch((err: unknown) => logger.warn({ err }, 'could not prune ended sessions')), 3600_000);
  pruneSessions.unref();

  const service = await serveGrpcService({
    name: 'auth',
    doors: config,
    tls,
    logger,
    metrics,
    readyWhen: () => pool.query('SELECT 1'),
    protoFiles: [PROTO_FILES.auth, PROTO_FILES.users],
    protoIncludeDirs: [PROTO_DIR],
    services: [
      {
        definition: auth.AuthServiceService,
        implementation: authHandlers({ store, issuer, keys, credentials, assertions: new UserAssertionSigner(tls), isOperator, sessions, signIn, oidc, events, links, invitations, passwords, hasher, revocations }),
        callers: callersOf('auth', auth.AuthServiceService),
      },
      // Forwarded by the gateway's admin port, each call with the user's assertion.
      { definition: users.UserServiceService, implementation: userHandlers({ store, verifier: new UserAssertionVerifier(tls), revocations, links, policy: { isWorkspaceAdmin, sourceRepositoryRole, resolvePaths, invitations }, events, serviceAccounts: new ServiceAccountStore(pool), trustedIssuers }), callers: callersOf('auth', users.UserServiceService) },
    ],
  });
  service.ready([
    { name: 'session pruning', run: async () => clearInterval(pruneSessions) },
    { name: 'metadata client', run: () => metadataClient.close() },
    { name: 'access state', run: () => revocations.close() },
    { name: 'redis', run: async () => void (await redis?.quit()) },
    { name: 'postgres', run: () => pool.end() },
  ], { kid: keys.kid });
});
