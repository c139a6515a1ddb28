import type { Pool } from 'pg';
import { NO_ANNOUNCEMENTS, type AccessChanges } from './access-changes';
import type { PackagesOnPush } from './package-creation-on-push';
import { Blobs } from './blobs';
import { Catalog } from './catalog';
import { Deletions } from './deletions';
import { Manifests } from './manifests';
import { Referrers } from './referrers';
import { Tags } from './tags';

/** Blobs, manifests and tags per repository, in PostgreSQL. Every input is validated before SQL. */
export class RegistryMetadata {
  readonly blobs: Blobs;
  readonly manifests: Manifests;
  readonly tags: Tags;
  readonly referrers: Referrers;
  readonly catalog: Catalog;
  readonly deletions: Deletions;

  constructor(
    pool: Pool,
    /** Writes naming a pusher create the package on first push in their own transaction; without this, packages are not checked. */
    packages?: PackagesOnPush,
    /** Told, after the commit, of every removal of manifests or blob links ("content:<workspace>"), so every gateway drops its cached answers. */
    removals: AccessChanges = NO_ANNOUNCEMENTS,
  ) {
    this.blobs = new Blobs(pool, packages ?? { ensure: async () => undefined });
    this.manifests = new Manifests(pool, packages ?? { ensure: async () => undefined });
    this.tags = new Tags(pool);
    this.referrers = new Referrers(pool);
    this.catalog = new Catalog(pool);
    this.deletions = new Deletions(pool, removals);
  }
}
