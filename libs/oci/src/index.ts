// The OCI grammar (names, tags, digests, media types), what listings show of a manifest, cosign's tag scheme, and the manifest schemas.
export * from './grammar';
export * from './describe';
export * from './cosign-tags';
export * from './manifest-schema';
