import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiResponse, RouteName } from '@ocireg/web-api';
import { ApiError, get } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/** GETs a path of the named route (null: nothing yet) and reloads when it changes; `refreshMs` polls while set. */
export function useApi<K extends RouteName>(path: string | null, refreshMs?: number): Loaded<ApiResponse<K>> {
  const [data, setData] = useState<ApiResponse<K>>();
  const [error, setError] = useState<ApiError>();
  const [loading, setLoading] = useState(path !== null);
  const [generation, setGeneration] = useState(0);
  const current = useRef(path);
  current.current = path;

  useEffect(() => {
    if (path === null) return;
    let cancelled = false;
    setLoading(true);
    get<K>(path).then(
      (value) => {
        if (cancelled) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (cancelled) return;
        setError(err instanceof ApiError ? err : new ApiError(0, 'UNKNOWN', String(err)));
        setLoading(false);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [path, generation]);

  useEffect(() => {
    if (!refreshMs || path === null) return;
    const timer = setInterval(() => setGeneration((g) => g + 1), refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs, path]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading, reload };
}
