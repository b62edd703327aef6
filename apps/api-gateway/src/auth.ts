import { CanActivate, ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ApiKeyEntity, hashToken } from '@skyweave/persistence';
import { Problem } from './problem';
import { DATA_SOURCE } from './tokens';

/** The caller's organisation, set by ApiKeyGuard. */
export interface Caller { organisationId: string; apiKeyId: string }

/** `Authorization: Bearer swk_…` (scheme in any case, RFC 7235) → the key's organisation. Keys are stored as SHA-256 only. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; caller?: Caller }>();
    const m = /^Bearer\s+(swk_[A-Za-z0-9_-]+)$/i.exec(req.headers.authorization ?? '');
    if (!m) throw Problem.unauthorized('send an API key as "Authorization: Bearer swk_…"');
    const key = await this.ds.getRepository(ApiKeyEntity).findOneBy({ secretHash: hashToken(m[1]) });
    if (!key) throw Problem.unauthorized('unknown API key');
    req.caller = { organisationId: key.organisationId, apiKeyId: key.id };
    return true;
  }
}

export const CallerOrg = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const caller = ctx.switchToHttp().getRequest<{ caller?: Caller }>().caller;
  if (!caller) throw Problem.unauthorized('no caller');
  return caller.organisationId;
});
