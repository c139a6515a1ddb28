import { unaryCall } from '@ocireg/grpc';
import type { metadata } from '@ocireg/proto';
import { UNARY_DEADLINE_MS } from './exchange';

/** How long a confirmed package is trusted before asking metadata again. */
const PACKAGE_CACHE_MS = 10_000;

/**
 * Pushing needs the package behind the name, or the right to create it on
 * push: metadata's EnsurePackage only checks (the push's first write creates
 * it), so a push is refused before any byte when it would be refused anyway.
 */
export class PackageCheck {
  private readonly confirmed = new Map<string, number>();

  constructor(private readonly metadata: metadata.RegistryMetadataServiceClient) {}

  async require(name: string, pusher: string, requestId: string): Promise<void> {
    const key = `${pusher}\0${name}`;
    const confirmedAt = this.confirmed.get(key);
    if (confirmedAt !== undefined && Date.now() - confirmedAt < PACKAGE_CACHE_MS) return;
    await unaryCall(this.metadata.ensurePackage.bind(this.metadata), { name: name, userId: pusher }, { requestId, deadlineMs: UNARY_DEADLINE_MS });
    if (this.confirmed.size > 10_000) this.confirmed.clear();
    this.confirmed.set(key, Date.now());
  }
}
