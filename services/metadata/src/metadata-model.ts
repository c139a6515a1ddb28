import type { Pool } from 'pg';
import { NO_ANNOUNCEMENTS, type AccessChanges } from './access-changes';
import { Access } from './access';
import { Blobs } from './blobs';
import { Catalog } from './catalog';
import { Deletions } from './deletions';
import { ImmutableTagRules } from './immutable/immutable-tag-rules';
import { Manifests } from './manifests';
import { Memberships } from './memberships';
import { PackageCreationOnPush } from './package-creation-on-push';
import { Packages } from './packages';
import { Projects } from './projects';
import { PullTimes } from './pull-times';
import { ProviderRoles } from './provider-roles';
import { Referrers } from './referrers';
import { DEFAULT_REPLICATION_POLICY, ReplicationJobs, type ReplicationPolicy } from './replication/replication-jobs';
import { ReplicationTargets } from './replication/replication-targets';
import { DEFAULT_RESTORE_WINDOW_SECONDS, RestoreWindow } from './restore-window';
import { SourceRepositories } from './source-repositories';
import { Tags } from './tags';
import { StorageUsage } from './usage';
import { CredentialSeal } from './upstreams/credential-seal';
import { Upstreams } from './upstreams/upstreams';
import { Workspaces } from './workspaces';

/** Every aggregate of the metadata service, over one PostgreSQL pool. */
export interface MetadataModel {
  readonly workspaces: Workspaces;
  readonly projects: Projects;
  readonly sourceRepositories: SourceRepositories;
  readonly memberships: Memberships;
  readonly providerRoles: ProviderRoles;
  readonly packages: Packages;
  readonly access: Access;
  readonly packagesOnPush: PackageCreationOnPush;
  readonly usage: StorageUsage;
  readonly blobs: Blobs;
  readonly manifests: Manifests;
  readonly tags: Tags;
  readonly referrers: Referrers;
  readonly catalog: Catalog;
  readonly deletions: Deletions;
  readonly upstreams: Upstreams;
  /** Last-pulled times (issue 24). */
  readonly pullTimes: PullTimes;
  /** Deleted tags and manifests still restorable (issue 24). */
  readonly restoreWindow: RestoreWindow;
  /** Immutable tag rules (issue 24): pushes and deletions consult them in their own transactions. */
  readonly immutableTagRules: ImmutableTagRules;
  /** Replication targets and their jobs (issue 27): pushes queue jobs in their own transactions. */
  readonly replicationTargets: ReplicationTargets;
  readonly replicationJobs: ReplicationJobs;
}

export interface MetadataModelOptions {
  /** Told about every change of who may do what, so gateways stop honouring older grants at once. */
  changes?: AccessChanges;
  /** Told, after the commit, of every removal of manifests or blob links ("content:<workspace>"), so every gateway drops its cached answers. */
  removals?: AccessChanges;
  /** Seals upstream passwords at rest (UPSTREAM_CREDENTIALS_KEY); without it, upstreams take no password. */
  credentials?: CredentialSeal;
  /** How long deletes stay restorable (RESTORE_WINDOW_SECONDS); default 7 days, 0: deletes are final. */
  restoreWindowSeconds?: number;
  /** Retries and leases of replication jobs (REPLICATION_* settings). */
  replicationPolicy?: ReplicationPolicy;
}

/**
 * The object graph main.ts serves and tests use: each aggregate gets the pool
 * and what it announces to; pushes that name a pusher create its package on
 * first push (package-creation-on-push.ts) inside their own transaction.
 */
export function createMetadataModel(pool: Pool, options: MetadataModelOptions = {}): MetadataModel {
  const changes = options.changes ?? NO_ANNOUNCEMENTS;
  const packagesOnPush = new PackageCreationOnPush(pool);
  // The upstreams' key seals replication targets' passwords too (UPSTREAM_CREDENTIALS_KEY).
  const credentials = options.credentials ?? new CredentialSeal(undefined);
  return {
    workspaces: new Workspaces(pool, changes),
    projects: new Projects(pool),
    sourceRepositories: new SourceRepositories(pool, changes),
    memberships: new Memberships(pool, changes),
    providerRoles: new ProviderRoles(pool, changes),
    packages: new Packages(pool, changes),
    access: new Access(pool),
    packagesOnPush,
    usage: new StorageUsage(pool),
    blobs: new Blobs(pool, packagesOnPush),
    manifests: new Manifests(pool, packagesOnPush),
    tags: new Tags(pool),
    referrers: new Referrers(pool),
    catalog: new Catalog(pool),
    deletions: new Deletions(pool, options.removals ?? NO_ANNOUNCEMENTS, options.restoreWindowSeconds ?? DEFAULT_RESTORE_WINDOW_SECONDS),
    upstreams: new Upstreams(pool, credentials),
    pullTimes: new PullTimes(pool),
    restoreWindow: new RestoreWindow(pool, options.removals ?? NO_ANNOUNCEMENTS),
    immutableTagRules: new ImmutableTagRules(pool),
    replicationTargets: new ReplicationTargets(pool, credentials),
    replicationJobs: new ReplicationJobs(pool, credentials, options.replicationPolicy ?? DEFAULT_REPLICATION_POLICY),
  };
}
