import { useEffect, useState } from 'react';

/** The console's base path (Vite `base`): every page lives under it. */
export const BASE = '/console';

/** The current path inside the console (`/`, `/clusters/<id>`, …). */
function current(): string {
  const p = window.location.pathname;
  const rest = p.startsWith(BASE) ? p.slice(BASE.length) : p;
  return rest === '' ? '/' : rest;
}

const listeners = new Set<() => void>();

/** Goes to a console page (history.pushState; the gateway's fallback serves any such path on reload). */
export function navigate(to: string): void {
  window.history.pushState(null, '', BASE + to);
  listeners.forEach((l) => l());
  window.scrollTo(0, 0);
}

/** The current console path, re-rendering on navigation and on the browser's back and forward. */
export function usePath(): string {
  const [path, setPath] = useState(current);
  useEffect(() => {
    const update = () => setPath(current());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return path;
}
