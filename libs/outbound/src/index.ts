export { RefusedTarget, TargetGuard, pinnedLookup, systemResolve, type Resolve } from './target-guard';
export { GuardedFetchError, guardedFetch, type GuardedRequest } from './guarded-fetch';
