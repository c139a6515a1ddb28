import type { BlobStore } from './blob-store';

/**
 * What the object stores share (S3, Azure, GCS): an upload is sealed where
 * its blob stays, at a key unique to the upload (metadata maps the digest to
 * it), so there is nothing to place or to confirm.
 */
export abstract class SealedInPlaceStore implements Pick<BlobStore, 'contentAddressed' | 'placeBlob' | 'confirmPlaced'> {
  readonly contentAddressed = false;

  async placeBlob(sealedKey: string): Promise<string> {
    return sealedKey;
  }

  async confirmPlaced(): Promise<void> {
    // The sealed key is the blob's (unique per upload): nothing to confirm or free.
  }
}
