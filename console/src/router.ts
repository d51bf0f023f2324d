/**
 * Routes live in the fragment (`/console/#/functions/hello/code?file=main.py&line=7`): the server
 * serves one page, deep links survive a reload, and nothing secret is ever in them (the token is
 * in sessionStorage, auth.ts).
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** Path segments after `#/`, decoded. */
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = raw.split('?', 2);
  const parts = path.split('/').filter((p) => p !== '').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, query: new URLSearchParams(search) };
}

export function href(parts: readonly (string | number)[], query?: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') q.set(k, String(v));
  const search = q.toString();
  return `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}${search ? `?${search}` : ''}`;
}

export function navigate(parts: readonly (string | number)[], query?: Record<string, string | number | undefined>): void {
  location.hash = href(parts, query);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
