import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import type { metadata } from '@ocireg/proto';
import { BatchedLookups } from './batched-lookups';
import { UNARY_DEADLINE_MS } from './exchange';

interface TagLookup {
  repository: string;
  tag: string;
  /** HEAD: digest, type and size only. */
  withoutContent: boolean;
  /** The request whose id the batch's call carries (its first member's). */
  requestId: string;
}

/** Calls to metadata's ResolveTags running at once; lookups arriving meanwhile wait in batches. */
const MAX_IN_FLIGHT = 2;
/** Metadata's limit per ResolveTags call (MAX_TAG_LOOKUPS in services/metadata). */
const MAX_BATCH = 64;

/**
 * Tags resolved to manifests through metadata, the lookups of concurrent
 * pulls batched into one ResolveTags call (one SQL query) under the rule of
 * BatchedLookups: nobody gets an answer read before they asked, so a pull
 * that starts after a push returned sees the new digest.
 */
export class TagLookups {
  private readonly batched: BatchedLookups<TagLookup, metadata.TagResolution>;

  constructor(client: metadata.RegistryMetadataServiceClient) {
    this.batched = new BatchedLookups({
      load: async (lookups) => {
        const request = { lookups: lookups.map(({ repository, tag, withoutContent }) => ({ name: repository, tag, withoutContent })) };
        const response = await unaryCall(client.resolveTags.bind(client), request, { requestId: lookups[0]!.requestId, deadlineMs: UNARY_DEADLINE_MS });
        return response.resolutions;
      },
      idOf: (lookup) => `${lookup.withoutContent ? 'HEAD' : 'GET'} ${lookup.repository}:${lookup.tag}`,
      maxInFlight: MAX_IN_FLIGHT,
      maxBatch: MAX_BATCH,
    });
  }

  /**
   * The manifest `tag` points to in `repository`; MANIFEST_UNKNOWN when there
   * is none. The caller has authorized the pull and checked both names with
   * the grammar metadata checks them with, so no lookup can make metadata
   * refuse a batch it shares with other clients' lookups.
   */
  async resolve(lookup: TagLookup): Promise<metadata.GetManifestResponse> {
    const { found, manifest } = await this.batched.lookup(lookup);
    if (!found || !manifest) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${lookup.tag} is unknown to ${lookup.repository}`, { reference: lookup.tag });
    return manifest;
  }
}
