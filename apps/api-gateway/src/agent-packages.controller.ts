import { Controller, Get, Inject, Optional, Param, Res } from '@nestjs/common';
import { Public } from './access';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import * as path from 'node:path';
import { type AgentPackageManifest, manifestFiles } from '@skyweave/bootstrap/src/agent-packages';
import { Problem, problemBody, sendProblem } from './problem';
import { AGENT_PACKAGES } from './tokens';

/** The node-agent packages the gateway serves: the folder tools/agent-package.js wrote and its manifest. */
export interface ServedAgentPackages {
  dir: string;
  manifest: AgentPackageManifest;
}

/**
 * The node-agent packages a stock cloud image downloads (issue 11, item 3; docs/node-bootstrap.md "The agent
 * package"), unauthenticated like any package mirror: they hold no secret (the bootstrap token is in the user-data,
 * never in a package), and a VM has no credential before its agent runs. Only the files the manifest lists are
 * served; each is immutable (its path carries the version, its SHA-256 is in the manifest and in every user-data).
 * - `GET /v1/agent-packages` → 200 the manifest (`version`, `node`, `packages.{amd64,arm64}.{file, sha256, bytes}`),
 *   404 `agent-packages-not-configured` when the gateway has no SKYWEAVE_AGENT_PACKAGES_DIR.
 * - `GET /v1/agent-packages/<version>/<file>` → 200 `application/gzip` (a package) or `text/javascript` (the agent
 *   bundle alone, `agent` in the manifest: what a running agent downloads to upgrade itself), `Cache-Control: public, max-age=31536000,
 *   immutable`, `ETag` the SHA-256; 404 for anything the manifest does not list.
 */
@ApiTags('agent-packages')
@Public()
@Controller('v1/agent-packages')
export class AgentPackagesController {
  constructor(@Optional() @Inject(AGENT_PACKAGES) private readonly packages?: ServedAgentPackages) {}

  @Get()
  manifest(): AgentPackageManifest {
    if (!this.packages) throw notConfigured();
    return this.packages.manifest;
  }

  @Get(':version/:file')
  file(@Param('version') version: string, @Param('file') file: string, @Res() res: Response): void {
    if (!this.packages) throw notConfigured();
    const wanted = `${version}/${file}`;
    const entry = manifestFiles(this.packages.manifest).find((p) => p.file === wanted);
    if (!entry) throw Problem.notFound(`node-agent package ${wanted} (GET /v1/agent-packages lists them)`);
    res.setHeader('cache-control', 'public, max-age=31536000, immutable');
    res.setHeader('etag', `"${entry.sha256}"`);
    const type = entry.file.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'application/gzip';
    res.sendFile(entry.file, { root: path.resolve(this.packages.dir), headers: { 'content-type': type }, lastModified: false, etag: false, cacheControl: false }, (err) => {
      // the manifest lists it but the folder does not hold it (an installation error, not the caller's)
      if (!err) return;
      const p = new Problem(503, 'agent-package-unavailable', 'Agent package unavailable', `node-agent package ${wanted} is listed but cannot be read on this gateway`);
      sendProblem(res, res.req.originalUrl, 503, problemBody(p));
    });
  }
}

const notConfigured = () =>
  new Problem(404, 'agent-packages-not-configured', 'Agent packages not configured', 'this installation serves no node-agent packages (SKYWEAVE_AGENT_PACKAGES_DIR is not set; build them with npm run build:agent-packages)');
