import type { UploadState } from './blob-store';

/**
 * Upload states as JSON, between the processes that append to an upload
 * (the gateway) and keep its session (blob-upload). Only the fields every
 * backend shares are checked here; each backend checks its own with
 * ownUploadState, which is also where an older version of its shape is
 * accepted or refused.
 */

/** The state in `json`, or undefined when it is not one. A state without `version` is version 1 (written before versions). */
export function parseUploadState(json: string): UploadState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  const state = value as Record<string, unknown>;
  const version = state.version ?? 1;
  const valid = typeof state.backend === 'string' && typeof state.key === 'string' && Number.isSafeInteger(state.size) && (state.size as number) >= 0 && Number.isSafeInteger(version) && (version as number) >= 1;
  return valid ? ({ ...state, version } as unknown as UploadState) : undefined;
}

/**
 * `state` as backend `backend` wrote it, for that backend alone: refuses
 * another backend's state and versions this code does not read.
 */
export function ownUploadState<T extends UploadState>(state: UploadState, backend: T['backend'], versions: readonly number[], name: string): T {
  if (state.backend !== backend) throw new Error(`an upload of the ${state.backend} store cannot continue on ${name}`);
  const version = state.version ?? 1;
  if (!versions.includes(version)) throw new Error(`${name} cannot continue an upload state of version ${version} (it reads ${versions.join(', ')})`);
  return state as T;
}
