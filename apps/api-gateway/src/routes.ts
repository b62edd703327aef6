import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import type { RequestHandler } from 'express';
import { Problem, problemBody, sendProblem } from './problem';

/** One route of the gateway: an HTTP method (upper case) and an Express path (`/v1/clusters/:id`). */
export interface RouteEntry { method: string; path: string }

const joinPath = (...parts: string[]) => '/' + parts.flatMap((p) => p.split('/')).filter(Boolean).join('/');

/**
 * The routes Nest serves for `controllers`, read from their decorators (`@Controller(path)`, `@Get(path)`, …): the
 * table that 405 answers and the fuzzer (tools/fuzz) are built from, so neither keeps its own copy. Handlers without
 * a method decorator and `@All` routes are left out.
 */
export function controllerRoutes(controllers: Type[]): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const c of controllers) {
    const prefixes = ([] as string[]).concat((Reflect.getMetadata(PATH_METADATA, c) as string | string[] | undefined) ?? '');
    const proto = c.prototype as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(proto)) {
      const handler = proto[key];
      if (key === 'constructor' || typeof handler !== 'function') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (method === undefined || method === RequestMethod.ALL) continue;
      const paths = ([] as string[]).concat((Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined) ?? '');
      for (const prefix of prefixes) for (const p of paths) out.push({ method: RequestMethod[method], path: joinPath(prefix, p) });
    }
  }
  return out;
}

/** Escapes a literal path segment for a RegExp. */
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Express middleware answering a request whose path is served but not with its method (RFC 9110 §15.5.6): 405
 * `method-not-allowed` as a problem with an `Allow` header listing the path's methods (`HEAD` wherever `GET` is), or,
 * for `OPTIONS`, 204 with that `Allow`. Paths that no route serves pass on (404 from Nest). Matching follows Express:
 * `:param` is one non-empty segment, case-insensitive, one trailing slash ignored. Mount before authentication and the
 * body parsers: a wrong method needs neither.
 */
export function methodNotAllowed(routes: RouteEntry[]): RequestHandler {
  const patterns = new Map<string, { re: RegExp; methods: Set<string> }>();
  for (const r of routes) {
    const key = r.path.replace(/:[^/]+/g, ':');
    const entry = patterns.get(key) ?? {
      re: new RegExp('^' + r.path.split('/').map((s) => (s.startsWith(':') ? '[^/]+' : escape(s))).join('/') + '/?$', 'i'),
      methods: new Set<string>(),
    };
    entry.methods.add(r.method);
    if (r.method === 'GET') entry.methods.add('HEAD');
    patterns.set(key, entry);
  }
  const table = [...patterns.values()];
  return (req, res, next) => {
    const allowed = new Set<string>();
    for (const { re, methods } of table) if (re.test(req.path)) methods.forEach((m) => allowed.add(m));
    if (allowed.size === 0 || allowed.has(req.method)) return next();
    allowed.add('OPTIONS');
    const allow = [...allowed].sort().join(', ');
    if (req.method === 'OPTIONS') {
      res.status(204).set('allow', allow).end();
      return;
    }
    const p = new Problem(405, 'method-not-allowed', 'Method not allowed', `${req.method} is not served at ${req.path}; allowed: ${allow}`);
    sendProblem(res, req.originalUrl, 405, problemBody(p), { allow });
  };
}
