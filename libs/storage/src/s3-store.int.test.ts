import { beforeAll } from 'vitest';
import { blobStoreContract } from './contract';
import { S3BlobStore } from './s3-store';

// Runs against the MinIO that the integration setup starts (S3_* variables).
function storeFromEnv(): S3BlobStore {
  const env = process.env;
  return new S3BlobStore({ endpoint: env.S3_ENDPOINT!, accessKey: env.S3_ACCESS_KEY!, secretKey: env.S3_SECRET_KEY!, bucket: env.S3_BUCKET!, region: env.S3_REGION ?? 'us-east-1' });
}

beforeAll(async () => {
  await storeFromEnv().ensureBucket(process.env.S3_REGION ?? 'us-east-1');
});

blobStoreContract('S3 (MinIO)', storeFromEnv);
