import { useCallback, useEffect, useState } from 'react';

/** Loads `fetcher()` once (and again on `reload()`), keeping the last answer while reloading. */
export function useLoad<T>(fetcher: () => Promise<T>): { data: T | undefined; error: unknown; reload: () => Promise<void> } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const reload = useCallback(async () => {
    try {
      setData(await fetcher());
      setError(undefined);
    } catch (e) {
      setError(e);
    }
  }, []);
  useEffect(() => void reload(), [reload]);
  return { data, error, reload };
}
