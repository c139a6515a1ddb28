// The OCI grammar (names, tags, digests, media types), what listings show of a manifest, and the manifest schemas.
export * from './grammar';
export * from './describe';
export * from './manifest-schema';
