import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Public } from './access';
import { Problem } from './problem';
import { CONSOLE_DIR } from './tokens';

/** Where the console is served: its own prefix, so no `/v1`, `/agent`, `/docs` or `/health` path is ever shadowed. */
export const CONSOLE_PATH = '/console';
/** Vite's hashed bundles (`assets/index-<hash>.js`): their names change with their content, so they may be cached for ever. */
const ASSETS = 'assets/';

/**
 * The web console (apps/console, docs/console.md): the static files Vite built (`dist/apps/console`), served at
 * `/console/` with a single-page-app fallback: a path without a file extension (`/console/clusters/<id>`) answers
 * `index.html`, whose script routes it; a missing file with an extension is a 404 problem. Public: the files hold no
 * data (every call the page makes is authorised by AccessGuard as any other). `GET /` redirects to the console.
 * Security headers are the gateway's (helmet's CSP allows scripts and styles from this origin only: the console's
 * build has no inline script).
 */
@ApiExcludeController()
@Public()
@Controller()
export class ConsoleController {
  private readonly root?: string;

  constructor(@Inject(CONSOLE_DIR) dir: string | null) {
    this.root = dir ? path.resolve(dir) : undefined;
  }

  @Get()
  home(@Res() res: Response): void {
    res.redirect(302, `${CONSOLE_PATH}/`);
  }

  @Get(['console', 'console/*path'])
  serve(@Req() req: Request, @Res() res: Response): void {
    if (!this.root) throw new Problem(404, 'console-not-served', 'Not found', 'this gateway serves no web console (SKYWEAVE_CONSOLE_DIR)');
    const index = path.join(this.root, 'index.html');
    if (!existsSync(index)) {
      throw new Problem(404, 'console-not-built', 'Not found', `the web console is not built (no ${index}): run \`npx nx run console:build\` or \`npm run build\``);
    }
    let rel: string;
    try {
      rel = decodeURIComponent(req.path.slice(CONSOLE_PATH.length)).replace(/^\/+/, '');
    } catch {
      throw Problem.notFound('this console file');
    }
    const file = path.resolve(this.root, rel);
    const inside = file.startsWith(this.root + path.sep);
    if (inside && rel !== '' && !rel.split('/').some((s) => s.startsWith('.')) && existsSync(file) && statSync(file).isFile()) {
      // the gateway's default is `no-store` (noStore), which sendFile would keep: hashed assets are cached for a year
      if (rel.startsWith(ASSETS)) res.setHeader('cache-control', 'public, max-age=31536000, immutable');
      res.sendFile(file, { cacheControl: false, etag: false, lastModified: false });
      return;
    }
    // a file that is not there (a stale asset name, a typo): a problem, not the page
    if (path.extname(rel) !== '') throw Problem.notFound(`console file /console/${rel}`);
    res.sendFile(index, { cacheControl: false, etag: false, lastModified: false });
  }
}
