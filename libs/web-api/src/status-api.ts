import { z } from 'zod';
import type { RouteSchema } from './route-schema';
import { componentState, exact, indexingStatus } from './shapes';

/** How far the listings are behind and which services behind the gateway answer. */
export const statusApi = {
  /** GET /status: components by service name (auth, metadata, blob-upload, indexer) */
  getStatus: {
    response: exact({ indexing: indexingStatus, components: z.record(z.string(), componentState) }),
  },
} satisfies Record<string, RouteSchema>;
