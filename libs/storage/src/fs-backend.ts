import path from 'node:path';
import { env, type z } from '@ocireg/config';
import { FsBlobStore } from './fs-store';
import { missing, type SettingsEnv, type StorageBackend } from './storage-backend';

export const fsSettings = (): { DATA_DIR: z.ZodOptional<ReturnType<typeof env.absolutePath>> } => ({
  /** The filesystem backend's blobs go under $DATA_DIR/blobs (blob-upload also keeps sessions there without REDIS_URL). */
  DATA_DIR: env.absolutePath().optional(),
});

export type FsEnv = SettingsEnv<typeof fsSettings>;

/** Files under $DATA_DIR/blobs (embedded mode, one machine). */
export const fsBackend: StorageBackend<FsEnv> = {
  problems: (vars) => missing(vars, ['DATA_DIR'], 'filesystem'),
  create: async (vars) => new FsBlobStore(path.join(vars.DATA_DIR!, 'blobs')),
};
