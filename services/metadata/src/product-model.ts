import type { Pool } from 'pg';
import { NO_ANNOUNCEMENTS, type AccessChanges } from './access-changes';
import { Access } from './access';
import { Memberships } from './memberships';
import { PackageCreationOnPush } from './package-creation-on-push';
import { Packages } from './packages';
import { Projects } from './projects';
import { SourceRepositories } from './source-repositories';
import { Workspaces } from './workspaces';
import { StorageUsage } from './usage';

/**
 * Workspaces, projects, repositories, memberships and packages: who may do
 * what with which image name. Inputs are validated before any SQL.
 */
export class ProductModel {
  readonly access: Access;
  readonly workspaces: Workspaces;
  readonly projects: Projects;
  readonly sourceRepositories: SourceRepositories;
  readonly memberships: Memberships;
  readonly packages: Packages;
  readonly packagesOnPush: PackageCreationOnPush;
  readonly usage: StorageUsage;

  constructor(
    private readonly pool: Pool,
    /** Told about every change of who may do what, so gateways stop honouring older grants at once. */
    private readonly changes: AccessChanges = NO_ANNOUNCEMENTS,
  ) {
    this.access = new Access(pool);
    this.workspaces = new Workspaces(pool, changes);
    this.projects = new Projects(pool);
    this.sourceRepositories = new SourceRepositories(pool, changes);
    this.memberships = new Memberships(pool, changes);
    this.packages = new Packages(pool, changes);
    this.packagesOnPush = new PackageCreationOnPush(pool);
    this.usage = new StorageUsage(pool);
  }
}
