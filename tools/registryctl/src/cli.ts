#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createGrpcClient, unaryCall } from '@ocireg/grpc';
import { admin, audit, users, webhooks } from '@ocireg/proto';
import { addAuditCommands } from './audit-commands';
import { addGcCommands } from './gc-commands';
import { addPullCommands } from './pull-commands';
import { addUpstreamCommands } from './upstream-commands';
import { addReplicationCommands } from './replication-commands';
import { addRestoreCommands } from './restore-commands';
import { addRetentionCommands } from './retention-commands';
import { addImmutableCommands } from './immutable-commands';
import { addRepositoryTokenCommands } from './repository-token-commands';
import { addServiceAccountCommands } from './service-account-commands';
import { addTrustedIssuerCommands } from './trusted-issuer-commands';
import { addWebhookCommands } from './webhook-commands';

/**
 * registryctl: what an operator needs to go from nothing to `docker push`.
 * Talks to the admin API on the gateway's admin port (REGISTRY_ADMIN_ADDR or --admin).
 */
const program = new Command('registryctl')
  .description('Administer an ocireg registry over its gRPC admin API')
  .option('--admin <host:port>', 'admin API address (the gateway\'s admin port)', process.env.REGISTRY_ADMIN_ADDR ?? '127.0.0.1:50050')
  .option('--tls', 'use TLS to the admin port (system CAs; see --ca)', process.env.REGISTRY_ADMIN_TLS === 'true')
  .option('--ca <file>', 'CA certificate (PEM) of the admin port\'s TLS certificate; implies --tls', process.env.REGISTRY_ADMIN_CA)
  // From the environment through commander's env(), which help shows by name: the token's value never appears there.
  .addOption(new Option('--token <api-token>', 'your API token (read:package for reads, admin:package for changes, admin:token to create tokens)').env('REGISTRY_TOKEN'))
  .showHelpAfterError();

/** The longest lifetime registryctl asks for (the server's own maximum applies too). */
const MAX_TOKEN_DAYS = 36_500;

/** Every call carries the caller's API token. */
function as(): { authorization: string } {
  const token = program.opts<{ token?: string }>().token;
  if (!token) throw new InvalidArgumentError('an API token is required: --token or REGISTRY_TOKEN');
  return { authorization: `Bearer ${token}` };
}

function security(): { kind: 'public'; tls: boolean; ca?: Buffer } {
  const o = program.opts<{ tls?: boolean; ca?: string }>();
  return { kind: 'public', tls: Boolean(o.tls || o.ca), ...(o.ca ? { ca: readFileSync(o.ca) } : {}) };
}

let client: admin.AdminServiceClient | undefined;
function api(): admin.AdminServiceClient {
  client ??= createGrpcClient(admin.AdminServiceClient, program.opts<{ admin: string }>().admin, security());
  return client;
}

let authClient: users.UserServiceClient | undefined;
function authApi(): users.UserServiceClient {
  authClient ??= createGrpcClient(users.UserServiceClient, program.opts<{ admin: string }>().admin, security());
  return authClient;
}

let webhookClient: webhooks.WebhookServiceClient | undefined;
function webhookApi(): webhooks.WebhookServiceClient {
  webhookClient ??= createGrpcClient(webhooks.WebhookServiceClient, program.opts<{ admin: string }>().admin, security());
  return webhookClient;
}

let auditClient: audit.AuditServiceClient | undefined;
function auditApi(): audit.AuditServiceClient {
  auditClient ??= createGrpcClient(audit.AuditServiceClient, program.opts<{ admin: string }>().admin, security());
  return auditClient;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function bool(value: string): boolean {
  if (value !== 'true' && value !== 'false') throw new InvalidArgumentError('expected true or false');
  return value === 'true';
}

const ROLES: Record<string, admin.Role> = { read: admin.Role.ROLE_READ, write: admin.Role.ROLE_WRITE, admin: admin.Role.ROLE_ADMIN, none: admin.Role.ROLE_UNSPECIFIED };
function role(value: string): admin.Role {
  const mapped = ROLES[value];
  if (mapped === undefined) throw new InvalidArgumentError('expected read, write or admin');
  return mapped;
}

const workspace = program.command('workspace').description('workspaces');
workspace
  .command('create <slug>')
  .option('--name <name>', 'display name')
  .option('--organization <org>', 'linked organization (required before packages can be created)', '')
  .option('--request-id <id>', 'idempotency key', '')
  .action(async (slug: string, o: { name?: string; organization: string; requestId: string }) => {
    const c = api();
    print(await unaryCall(c.createWorkspace.bind(c), { requestId: o.requestId, slug, name: o.name ?? slug, organization: o.organization }, as()));
  });
workspace.command('get <slug>').action(async (slug: string) => {
  const c = api();
  print(await unaryCall(c.getWorkspace.bind(c), { slug }, as()));
});
workspace.command('list').action(async () => {
  const c = api();
  print(await unaryCall(c.listWorkspaces.bind(c), { pageSize: 500, pageToken: '' }, as()));
});
workspace
  .command('settings <slug>')
  .option('--organization <org>')
  .option('--public-pull <bool>', 'anonymous pull', bool)
  .option('--create-packages-on-push <bool>', 'create a package on first push', bool)
  .option('--default-repository <id>', 'source repository new packages link to')
  .option('--plan <name>', 'plan label')
  .option('--storage-quota <bytes>', 'storage limit in bytes (each blob counted once)', (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a number of bytes');
    return Number(value);
  })
  .option('--unlimited-storage', 'remove the storage limit')
  .option('--keep-untagged-manifests <bool>', 'keep manifests left untagged instead of collecting them (for those who pull by digest)', bool)
  .action(
    async (
      slug: string,
      o: { organization?: string; publicPull?: boolean; createPackagesOnPush?: boolean; defaultRepository?: string; plan?: string; storageQuota?: number; unlimitedStorage?: boolean; keepUntaggedManifests?: boolean },
    ) => {
      const c = api();
      print(
        await unaryCall(
          c.updateWorkspaceSettings.bind(c),
          {
            slug,
            organization: o.organization,
            publicPull: o.publicPull,
            createPackagesOnPush: o.createPackagesOnPush,
            defaultSourceRepositoryId: o.defaultRepository,
            plan: o.plan,
            storageQuotaBytes: o.storageQuota,
            unlimitedStorage: o.unlimitedStorage,
            keepUntaggedManifests: o.keepUntaggedManifests,
          },
          as(),
        ),
      );
    },
  );
workspace.command('usage <slug>').description('bytes stored, per workspace and package').action(async (slug: string) => {
  const c = api();
  print(await unaryCall(c.getStorageUsage.bind(c), { workspaceSlug: slug }, as()));
});
workspace.command('delete <slug>').description('only an empty workspace').action(async (slug: string) => {
  const c = api();
  print(await unaryCall(c.deleteWorkspace.bind(c), { slug }, as()));
});
workspace.command('add-admin <slug> <user>').action(async (slug: string, user: string) => {
  const c = api();
  print(await unaryCall(c.addWorkspaceAdmin.bind(c), { workspaceSlug: slug, userId: user }, as()));
});

const project = program.command('project').description('projects');
project.command('get <workspace> <slug>').action(async (ws: string, slug: string) => {
  const c = api();
  print(await unaryCall(c.getProject.bind(c), { workspaceSlug: ws, slug }, as()));
});
project.command('rename <workspace> <slug> <name>').action(async (ws: string, slug: string, name: string) => {
  const c = api();
  print(await unaryCall(c.updateProject.bind(c), { workspaceSlug: ws, slug, name }, as()));
});
project.command('delete <workspace> <slug>').action(async (ws: string, slug: string) => {
  const c = api();
  print(await unaryCall(c.deleteProject.bind(c), { workspaceSlug: ws, slug }, as()));
});
project
  .command('create <workspace> <slug>')
  .option('--name <name>')
  .action(async (ws: string, slug: string, o: { name?: string }) => {
    const c = api();
    print(await unaryCall(c.createProject.bind(c), { requestId: '', workspaceSlug: ws, slug, name: o.name ?? slug }, as()));
  });

const repository = program.command('repository').description('source repositories (whose members packages inherit)');
repository
  .command('create <workspace> <project> <slug>')
  .option('--name <name>')
  .action(async (ws: string, project: string, slug: string, o: { name?: string }) => {
    const c = api();
    print(await unaryCall(c.createSourceRepository.bind(c), { requestId: '', workspaceSlug: ws, projectSlug: project, slug, name: o.name ?? slug }, as()));
  });
repository.command('get <repository-id>').action(async (sourceRepositoryId: string) => {
  const c = api();
  print(await unaryCall(c.getSourceRepository.bind(c), { sourceRepositoryId }, as()));
});
repository.command('rename <repository-id> <name>').action(async (sourceRepositoryId: string, name: string) => {
  const c = api();
  print(await unaryCall(c.updateSourceRepository.bind(c), { sourceRepositoryId, name }, as()));
});
repository.command('delete <repository-id>').action(async (sourceRepositoryId: string) => {
  const c = api();
  print(await unaryCall(c.deleteSourceRepository.bind(c), { sourceRepositoryId }, as()));
});
repository.command('list <workspace>').action(async (ws: string) => {
  const c = api();
  print(await unaryCall(c.listSourceRepositories.bind(c), { workspaceSlug: ws, projectSlug: '', pageSize: 500, pageToken: '' }, as()));
});
addRepositoryTokenCommands(repository, { authApi: () => authApi(), as, print, maxTokenDays: MAX_TOKEN_DAYS });

const member = program.command('member').description('roles of users on source repositories (<user> is an email or a user id)');
member.command('set <repository-id> <user> <role>').action(async (sourceRepositoryId: string, user: string, r: string) => {
  const c = api();
  print(admin.SetMembershipResponse.toJSON(await unaryCall(c.setMembership.bind(c), { sourceRepositoryId, userId: user, role: role(r) }, as())));
});
member.command('list <repository-id>').action(async (sourceRepositoryId: string) => {
  const c = api();
  print(admin.ListMembershipsResponse.toJSON(await unaryCall(c.listMemberships.bind(c), { sourceRepositoryId }, as())));
});
member.command('remove <repository-id> <user>').action(async (sourceRepositoryId: string, user: string) => {
  const c = api();
  print(await unaryCall(c.removeMembership.bind(c), { sourceRepositoryId, userId: user }, as()));
});

const pkg = program.command('package').description('packages (image names) and their source repository links');
pkg
  .command('create <workspace> <name>')
  .requiredOption('--repository <id>', 'source repository to link to (you must be its Admin)')
  .action(async (ws: string, name: string, o: { repository: string }) => {
    const c = api();
    print(await unaryCall(c.createPackage.bind(c), { requestId: '', workspaceSlug: ws, name, sourceRepositoryId: o.repository, actorUserId: '' }, as()));
  });
pkg
  .command('link <workspace> <name>')
  .requiredOption('--repository <id>', 'source repository to link to (you must be its Admin)')
  .action(async (ws: string, name: string, o: { repository: string }) => {
    const c = api();
    print(await unaryCall(c.linkPackage.bind(c), { workspaceSlug: ws, name, sourceRepositoryId: o.repository, actorUserId: '' }, as()));
  });
pkg.command('delete <workspace> <name>').description('only once its images are deleted').action(async (ws: string, name: string) => {
  const c = api();
  print(await unaryCall(c.deletePackage.bind(c), { workspaceSlug: ws, name }, as()));
});
pkg.command('list <workspace>').action(async (ws: string) => {
  const c = api();
  print(await unaryCall(c.listPackages.bind(c), { workspaceSlug: ws, pageSize: 500, pageToken: '' }, as()));
});
pkg.command('grant <workspace> <name> <user> <role>').description('explicit role on one package (role "none" removes it)').action(async (ws: string, name: string, user: string, r: string) => {
  const c = api();
  print(admin.SetPackageGrantResponse.toJSON(await unaryCall(c.setPackageGrant.bind(c), { workspaceSlug: ws, name, userId: user, role: role(r) }, as())));
});

const image = program.command('image').description('images (packages with content) and their tags');
image
  .command('list <workspace>')
  .option('--project <slug>', 'only this project')
  .option('--repository <id>', 'only this source repository')
  .option('--prefix <name-prefix>', 'only names starting with this')
  .option('--sort <order>', 'name or last-pushed', 'name')
  .action(async (ws: string, o: { project?: string; repository?: string; prefix?: string; sort: string }) => {
    if (o.sort !== 'name' && o.sort !== 'last-pushed') throw new Error('--sort must be name or last-pushed');
    const sort = o.sort === 'last-pushed' ? admin.ImageSort.IMAGE_SORT_LAST_PUSHED : admin.ImageSort.IMAGE_SORT_NAME;
    const c = api();
    print(await unaryCall(c.listImages.bind(c), { workspaceSlug: ws, projectSlug: o.project ?? '', sourceRepositoryId: o.repository ?? '', namePrefix: o.prefix ?? '', sort, pageSize: 500, pageToken: '' }, as()));
  });
image.command('get <workspace> <name>').action(async (ws: string, name: string) => {
  const c = api();
  print(await unaryCall(c.getImage.bind(c), { workspaceSlug: ws, name }, as()));
});
image.command('tag <workspace> <name> <tag>').action(async (ws: string, name: string, tag: string) => {
  const c = api();
  print(await unaryCall(c.getTag.bind(c), { workspaceSlug: ws, name, tag }, as()));
});
image
  .command('delete <workspace> <name>')
  .description('every manifest and tag of the package (Admin); storage is freed later by garbage collection')
  .action(async (ws: string, name: string) => {
    const c = api();
    print(await unaryCall(c.deleteImage.bind(c), { workspaceSlug: ws, name }, as()));
  });

addPullCommands(image, { api, as, print });

const tag = program.command('tag').description('tags of images');
tag
  .command('delete <workspace> <name> <tag>')
  .description('the tag only (Write); a manifest it leaves untagged is collected after the grace period')
  .action(async (ws: string, name: string, t: string) => {
    const c = api();
    await unaryCall(c.deleteTag.bind(c), { workspaceSlug: ws, name, tag: t }, as());
    print({ deleted: { tag: t } });
  });

const manifest = program.command('manifest').description('manifests by digest');
manifest
  .command('delete <workspace> <name> <digest>')
  .description('one manifest and its tags (Admin); its signatures and unreferenced platform manifests follow by garbage collection')
  .action(async (ws: string, name: string, digest: string) => {
    const c = api();
    print(await unaryCall(c.deleteManifest.bind(c), { workspaceSlug: ws, name, digest }, as()));
  });

addGcCommands(program, { api, as, print });
addRestoreCommands(program, { api, as, print });
const upstreamCommands = addUpstreamCommands(program, { address: () => program.opts<{ admin: string }>().admin, security, as, print });
const replicationCommands = addReplicationCommands(program, { address: () => program.opts<{ admin: string }>().admin, security, as, print });
const retentionCommands = addRetentionCommands(program, { address: () => program.opts<{ admin: string }>().admin, security, as, print });
const immutableCommands = addImmutableCommands(program, { address: () => program.opts<{ admin: string }>().admin, security, as, print });
addServiceAccountCommands(program, { authApi: () => authApi(), as, print });
addTrustedIssuerCommands(program, { authApi: () => authApi(), as, print });
addAuditCommands(program, { audit: auditApi, as, print });
addWebhookCommands(program, { webhooks: webhookApi, as, print });

const user = program.command('user').description('users (auth service)');
user.command('create <email>').option('--name <display-name>').action(async (email: string, o: { name?: string }) => {
  const c = authApi();
  print(await unaryCall(c.createUser.bind(c), { email, displayName: o.name ?? email }, as()));
});
user.command('get <email>').action(async (email: string) => {
  const c = authApi();
  print(await unaryCall(c.getUser.bind(c), { email }, as()));
});
/** Prints a password link: the URL to send (PUBLIC_URL of the gateway + /set-password#<secret>), then JSON. */
async function passwordLink(email: string, purpose: users.PasswordLinkPurpose, o: { workspace?: string; expiresInDays?: string }): Promise<void> {
  const days = o.expiresInDays === undefined ? 0 : Number(o.expiresInDays);
  if (!Number.isFinite(days) || days < 0 || days > 30) throw new InvalidArgumentError('--expires-in-days must be a number of days from 1 to 30');
  const c = authApi();
  const link = await unaryCall(c.createPasswordLink.bind(c), { user: email, purpose, expiresInSeconds: Math.round(days * 86_400), workspaceSlug: o.workspace ?? '' }, as());
  print({ userId: link.userId, email: link.email, expiresAt: link.expiresAt, url: link.url });
  if (link.url.startsWith('/')) process.stderr.write(`registryctl: the gateway has no PUBLIC_URL; open ${link.url} on the registry's address (e.g. http://127.0.0.1:5000${link.url})\n`);
}
user
  .command('invite <email>')
  .description('an invitation link to set a password for the web UI (creates the user if new); single use, 7 days by default')
  .option('--workspace <slug>', 'the workspace you administer (not needed by operators)')
  .option('--expires-in-days <days>', 'how long the link works (at most 30)')
  .action((email: string, o: { workspace?: string; expiresInDays?: string }) => passwordLink(email, users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_INVITE, o));
user
  .command('reset-password <email>')
  .description('a password reset link (operators only); using it signs the user out everywhere; single use, 1 day by default')
  .option('--expires-in-days <days>', 'how long the link works (at most 30)')
  .action((email: string, o: { expiresInDays?: string }) => passwordLink(email, users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_RESET, o));

const token = program.command('token').description('API tokens: the password of `docker login --username <email>`');
token
  .command('create <email>')
  .option('--name <name>', 'what the token is for', 'cli')
  .option('--scopes <list>', 'comma-separated: read:package, write:package, admin:package, admin:token (never more than your own token has)', 'read:package,write:package')
  .option('--expires-in-days <days>', 'lifetime (required; never beyond your own token\'s, capped by the server)', '30')
  .action(async (email: string, o: { name: string; scopes: string; expiresInDays: string }) => {
    const days = Number(o.expiresInDays);
    if (!Number.isFinite(days) || days <= 0 || days > MAX_TOKEN_DAYS) throw new InvalidArgumentError(`--expires-in-days must be a number of days from 1 to ${MAX_TOKEN_DAYS}`);
    const c = authApi();
    print(await unaryCall(c.createToken.bind(c), { userId: email, name: o.name, expiresInSeconds: Math.round(days * 86_400), scopes: o.scopes.split(',').map((s) => s.trim()) }, as()));
  });
token.command('list <email>').action(async (email: string) => {
  const c = authApi();
  print(await unaryCall(c.listTokens.bind(c), { userId: email }, as()));
});
token.command('revoke <token-id>').description('revokes the token and every token created with it').action(async (tokenId: string) => {
  const c = authApi();
  print(await unaryCall(c.revokeToken.bind(c), { tokenId }, as()));
});

program.command('role <user> <name>').description('effective role of a user on the package <workspace>/<package>').action(async (user: string, fullName: string) => {
  const c = api();
  print(admin.GetEffectiveRoleResponse.toJSON(await unaryCall(c.getEffectiveRole.bind(c), { userId: user, fullName }, as())));
});

program
  .parseAsync()
  .catch((err: unknown) => {
    const error = err as { code?: string; message?: string; detail?: unknown };
    const where = error.code === 'UNAVAILABLE' ? ` (admin API at ${program.opts<{ admin: string }>().admin}; set --admin or REGISTRY_ADMIN_ADDR)` : '';
    process.stderr.write(`registryctl: ${error.code ? `${error.code}: ` : ''}${error.message ?? String(err)}${where}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    client?.close();
    authClient?.close();
    upstreamCommands.close();
    replicationCommands.close();
    retentionCommands.close();
    immutableCommands.close();
    auditClient?.close();
    webhookClient?.close();
  });
