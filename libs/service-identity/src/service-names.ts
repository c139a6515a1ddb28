/** The registry's services, as their certificates name them (subject CN). */
export const SERVICE_NAMES = ['gateway', 'auth', 'metadata', 'blob-upload', 'indexer'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export function isServiceName(value: unknown): value is ServiceName {
  return typeof value === 'string' && (SERVICE_NAMES as readonly string[]).includes(value);
}
