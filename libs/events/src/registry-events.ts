import type { ManifestFacts, Platform } from '@ocireg/oci';

/** Where metadata publishes registry events, keyed by repository (docs/events.md). */
export const REGISTRY_EVENTS_TOPIC = 'registry.events';
/** Where consumers put events they cannot apply, with the reason in a header. */
export const REGISTRY_EVENTS_DEAD_LETTER_TOPIC = 'registry.events.dlq';

/** What happened; consumers must ignore actions they do not know. */
export type RegistryEventAction =
  | 'manifest.pushed'
  | 'manifest.described'
  | 'manifest.deleted'
  | 'tag.updated'
  | 'tag.deleted'
  | 'package.linked'
  | 'package.deleted'
  /** Retention rules applied to a package (by hand or by the online loop): what they deleted. */
  | 'retention.applied'
  /** A push took the workspace's stored bytes across the nearly-full share of its quota (once per crossing). */
  | 'quota.nearly-full';

export interface RegistryEventTarget {
  workspace: string;
  repository: string;
  package?: string;
  digest?: string;
  mediaType?: string;
  size?: number;
  tag?: string;
  /** For retention.applied and quota.nearly-full: their figures (counts, bytes). */
  summary?: Record<string, number | boolean>;
  /** For package.linked: the repository (source) id the package now inherits from. */
  linkedRepositoryId?: string;
  /** For package.linked: the slug of that repository's project. */
  project?: string;
  /** For manifest.pushed: what listings show of the manifest. */
  manifest?: ManifestFacts;
  /** For manifest.described: the platform an image's config names, read after the push. */
  platform?: Platform;
  /** For manifest.described: the created time an image's config names (RFC 3339). */
  created?: string;
}

/** The versioned event envelope, version 1 (docs/events.md). */
export interface RegistryEvent {
  schemaVersion: 1;
  id: string;
  /** The time of the metadata transaction that made the change (RFC 3339). */
  time: string;
  action: RegistryEventAction;
  target: RegistryEventTarget;
  actor: string;
  requestId: string;
}
