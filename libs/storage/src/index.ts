export * from './blob-store';
export * from './s3-store';
export * from './fs-store';
export * from './create-blob-store';
export * from './storage-failures';
