import { env, z } from '@ocireg/config';
import { partCountProblem } from './parted-append';
import { S3_MAX_PART_SIZE, S3_MAX_PARTS, S3_MIN_PART_SIZE, S3BlobStore } from './s3-store';
import { missing, partSizeOf, type SettingsEnv, type StorageBackend, type StorageEnvProblem } from './storage-backend';

export const s3Settings = () => ({
  S3_ENDPOINT: env.optionalUrl(),
  S3_ACCESS_KEY: z.string().min(1).optional(),
  S3_SECRET_KEY: z.string().min(1).optional(),
  S3_BUCKET: z.string().min(3).optional(),
  S3_REGION: z.string().default('us-east-1'),
});

export type S3Env = SettingsEnv<typeof s3Settings>;

/** S3 or MinIO, through the minio client. */
export const s3Backend: StorageBackend<S3Env> = {
  problems(vars, { maxBlobSize }) {
    const problems = missing(vars, ['S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET'], 's3');
    const partSize = partSizeOf(vars);
    const part = (message: string): StorageEnvProblem => ({ variable: 'UPLOAD_PART_SIZE', message });
    if (partSize !== undefined && partSize < S3_MIN_PART_SIZE) problems.push(part("must be at least 5 MiB (S3's minimum part size)"));
    if (partSize !== undefined && partSize > S3_MAX_PART_SIZE) problems.push(part("must be at most 5 GiB (S3's largest part)"));
    const count = partCountProblem(maxBlobSize, partSize ?? S3_MIN_PART_SIZE, S3_MAX_PARTS, 'S3 parts');
    if (count) problems.push(part(count));
    return problems;
  },
  async create(vars, { createBucket }) {
    const region = vars.S3_REGION ?? 'us-east-1';
    const store = new S3BlobStore({ endpoint: vars.S3_ENDPOINT!, accessKey: vars.S3_ACCESS_KEY!, secretKey: vars.S3_SECRET_KEY!, bucket: vars.S3_BUCKET!, region, partSize: partSizeOf(vars) });
    if (createBucket) await store.ensureBucket(region);
    return store;
  },
};
