import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import type { Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { Observable, from, map, of, switchMap, catchError, throwError } from 'rxjs';
import type { DataSource } from 'typeorm';
import { IdempotencyKeysRepository, orgScope } from '@skyweave/persistence';
import type { Caller } from './auth';
import { Problem } from './problem';
import { DATA_SOURCE } from './tokens';

/** Metadata key of {@link ReadLike}. */
export const READ_LIKE = 'skyweave:read-like';

/**
 * Marks a POST handler that writes nothing (`POST /v1/clusters/plan`): it gets no IdempotencyInterceptor (app.ts
 * interceptWrites), so an `Idempotency-Key` on it is ignored and stores no answer. The guards (rate limits, API key)
 * are the same as on any route.
 */
export const ReadLike = () => SetMetadata(READ_LIKE, true);

/** Metadata key of {@link SecretAnswer}. */
export const SECRET_ANSWER = 'skyweave:secret-answer';

/**
 * Marks a write whose answer carries a secret shown once (a new API key, an invitation token): it gets no
 * IdempotencyInterceptor, so the secret is never stored in `idempotency_keys` nor replayed; an `Idempotency-Key` on
 * it is ignored.
 */
export const SecretAnswer = () => SetMetadata(SECRET_ANSWER, true);

/** Replays are kept this long, in hours. */
export const IDEMPOTENCY_TTL_HOURS = 24;

/**
 * `Idempotency-Key` on writes (POST, DELETE, PATCH, PUT): the first request with a key runs and its 2xx answer is
 * stored per organisation; a retry with the same key and the same request gets the stored answer (header
 * `Idempotent-Replayed: true`) without running again. The same key with a different request is 422; a retry while
 * the first is still running is 409. Failed requests are not stored, so they can be retried with the same key.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly keys: IdempotencyKeysRepository;

  constructor(@Inject(DATA_SOURCE) ds: DataSource) {
    this.keys = new IdempotencyKeysRepository(ds);
  }

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<Request & { caller?: Caller }>();
    const res = ctx.switchToHttp().getResponse<Response>();
    const key = req.header('idempotency-key');
    if (!key || req.method === 'GET' || !req.caller?.organisationId) return next.handle();
    if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
      throw Problem.validation([{ field: 'Idempotency-Key', rule: 'format', message: 'Idempotency-Key must be 1–255 printable ASCII characters' }]);
    }
    const scope = orgScope(req.caller.organisationId);
    const fingerprint = createHash('sha256').update(`${req.method} ${req.originalUrl}\n${JSON.stringify(req.body ?? null)}`).digest('hex');
    return from((async () => {
      await this.keys.purgeOlderThan(scope, IDEMPOTENCY_TTL_HOURS);
      if (await this.keys.claim(scope, key, fingerprint)) return undefined;
      return this.keys.get(scope, key);
    })()).pipe(
      switchMap((prior) => {
        if (prior) {
          if (prior.requestFingerprint !== fingerprint) throw new Problem(422, 'idempotency-key-reused', 'Idempotency key reused', 'this Idempotency-Key was used for a different request');
          if (prior.status === 0) throw new Problem(409, 'idempotency-key-in-progress', 'Request in progress', 'a request with this Idempotency-Key is still being processed', undefined, { 'retry-after': '1' });
          res.status(prior.status).setHeader('idempotent-replayed', 'true');
          return of(prior.body);
        }
        return next.handle().pipe(
          // stored before the answer leaves, so an immediate retry replays instead of seeing "in progress"
          switchMap((body: unknown) => from(this.keys.complete(scope, key, res.statusCode, body)).pipe(map(() => body))),
          catchError((e: unknown) => from(this.keys.release(scope, key)).pipe(switchMap(() => throwError(() => e)))),
        );
      }),
    );
  }
}
