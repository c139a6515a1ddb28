import { createHash, randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { createMetadataModel, type MetadataModel } from './metadata-model';
import { systemOrigin } from './change-origin';
import { migrate } from './migrate';

/**
 * What the metadata integration tests share (test tooling: the service
 * never imports it): a migrated database with the model over it, and the
 * small world most product tests start from.
 */

export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
export const digestOf = (content: Buffer | string) => `sha256:${createHash('sha256').update(content).digest('hex')}`;
export const uniqueRepository = () => `ws${randomBytes(4).toString('hex')}/app`;

export interface Testbed {
  pool: Pool;
  model: MetadataModel;
}

/**
 * Before the tests of a file, migrates the database (twice: migrations are
 * idempotent) and hands `opened` a pool and the metadata model over it; after
 * them, closes the pool.
 */
export function withTestbed(opened: (testbed: Testbed) => void): void {
  let pool: Pool | undefined;
  beforeAll(async () => {
    const logger = createLogger({ service: 'test', level: 'silent' });
    await migrate(process.env.DATABASE_URL!, logger);
    await migrate(process.env.DATABASE_URL!, logger); // idempotent
    pool = new Pool({ connectionString: process.env.DATABASE_URL });
    opened({ pool, model: createMetadataModel(pool) });
  });
  afterAll(async () => {
    await pool?.end();
  });
}

/** A workspace with an organization, one project and two repositories. */
export async function world(model: MetadataModel) {
  const slug = unique('ws');
  await model.workspaces.create({ requestId: '', slug, name: '', organization: 'acme-org' }, TEST_ORIGIN);
  await model.projects.create({ requestId: '', workspaceSlug: slug, slug: 'platform', name: 'Platform' }, TEST_ORIGIN);
  const api = await model.sourceRepositories.create({ requestId: '', workspaceSlug: slug, projectSlug: 'platform', slug: 'api', name: 'API' }, TEST_ORIGIN);
  const web = await model.sourceRepositories.create({ requestId: '', workspaceSlug: slug, projectSlug: 'platform', slug: 'web', name: 'Web' }, TEST_ORIGIN);
  return { slug, api, web };
}

/** The origin of the changes tests make straight on the model (audited as made by "test"). */
export const TEST_ORIGIN = systemOrigin('test');
