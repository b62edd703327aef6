import { BeforeApplicationShutdown, Controller, Get, Headers, Inject, Injectable, Param, ParseUUIDPipe, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiHeader, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { DataSource } from 'typeorm';
import { CLUSTER_EVENT_SSE, type ClusterEventMessage } from '@skyweave/contracts';
import { type ChangeFeed, ClusterEventsRepository, ClustersRepository, orgScope } from '@skyweave/persistence';
import { CallerOrg } from './auth';
import { StreamQueryDto } from './identity.dtos';
import { Problem } from './problem';
import type { GatewayLimits } from './limits';
import { CHANGE_FEED, DATA_SOURCE, GATEWAY_LIMITS, SSE_HEARTBEAT, SSE_MAX_STREAM } from './tokens';

/** Default time without an event before a heartbeat comment is sent, ms (below the usual 60 s idle timeout of proxies). */
export const SSE_HEARTBEAT_MS = 15_000;
/** Default lifetime of one stream, ms (30 min); the client then reconnects with Last-Event-ID. */
export const SSE_MAX_STREAM_MS = 30 * 60_000;
/** Events read per query while catching up. */
const PAGE = 200;

/** Seconds a stream refused at a bound is told to wait (`Retry-After`); EventSource itself retries after `retry:`. */
export const EVENT_STREAM_RETRY_AFTER_SECONDS = 30;

/**
 * The open streams of this process: bounded (GatewayLimits `maxEventStreams` in all, `maxEventStreamsPerOrganisation`
 * per organisation: each stream holds a connection and a change-feed subscription for up to 30 min, so without a bound
 * one tenant's open tabs, or a client reconnecting in a loop, could take them all), and ended when the application
 * stops (so `app.close()` does not wait on them).
 */
@Injectable()
export class EventStreams implements BeforeApplicationShutdown {
  private readonly open = new Map<() => void, string>();
  private readonly perOrganisation = new Map<string, number>();

  constructor(@Inject(GATEWAY_LIMITS) private readonly limits: Pick<GatewayLimits, 'maxEventStreams' | 'maxEventStreamsPerOrganisation'>) {}

  /** Streams open now (in all; or of one organisation). */
  count(organisationId?: string): number {
    return organisationId === undefined ? this.open.size : (this.perOrganisation.get(organisationId) ?? 0);
  }

  /**
   * Counts one more open stream of `organisationId`, ended by `end` at shutdown.
   * @returns the function that forgets it (call once, when the stream ends).
   * @throws Problem 503 `too-many-event-streams` (Retry-After EVENT_STREAM_RETRY_AFTER_SECONDS) when this process holds
   *   `maxEventStreams` streams, or the organisation `maxEventStreamsPerOrganisation`.
   */
  add(organisationId: string, end: () => void): () => void {
    const mine = this.count(organisationId);
    if (this.open.size >= this.limits.maxEventStreams || mine >= this.limits.maxEventStreamsPerOrganisation) {
      const [held, max, whose] = this.open.size >= this.limits.maxEventStreams
        ? [this.open.size, this.limits.maxEventStreams, 'this gateway holds']
        : [mine, this.limits.maxEventStreamsPerOrganisation, 'your organisation has'];
      throw new Problem(503, 'too-many-event-streams', 'Too many event streams',
        `${whose} ${held} open event streams, the limit of ${max}; close one or retry in ${EVENT_STREAM_RETRY_AFTER_SECONDS} s`, undefined,
        { 'retry-after': String(EVENT_STREAM_RETRY_AFTER_SECONDS) });
    }
    this.open.set(end, organisationId);
    this.perOrganisation.set(organisationId, mine + 1);
    return () => {
      if (!this.open.delete(end)) return;
      const left = this.count(organisationId) - 1;
      if (left > 0) this.perOrganisation.set(organisationId, left);
      else this.perOrganisation.delete(organisationId);
    };
  }

  beforeApplicationShutdown(): void {
    for (const end of [...this.open.keys()]) end();
  }
}

/**
 * A cluster's events as server-sent events (issue 14): `GET /v1/clusters/{id}/events/stream`.
 */
@ApiTags('clusters')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('v1/clusters')
export class EventStreamController {
  private readonly events: ClusterEventsRepository;
  private readonly clusters: ClustersRepository;

  constructor(
    @Inject(DATA_SOURCE) ds: DataSource,
    @Inject(CHANGE_FEED) private readonly feed: Pick<ChangeFeed, 'subscribe'>,
    @Inject(SSE_HEARTBEAT) private readonly heartbeatMs: number,
    @Inject(SSE_MAX_STREAM) private readonly maxStreamMs: number,
    private readonly streams: EventStreams,
  ) {
    this.events = new ClusterEventsRepository(ds);
    this.clusters = new ClustersRepository(ds);
  }

  /**
   * `text/event-stream` of the cluster's events (`cluster_events`) as they are recorded: each is one message with
   * `id:` the event id, `event: cluster-event` and `data:` JSON `{ id, type, reason, object, message, createdAt }`,
   * oldest first. Starts after `Last-Event-ID` (header, as browsers' EventSource resend it on reconnect; or
   * `?lastEventId=`), or from the first event. New events arrive when their transaction commits (the ChangeFeed's
   * `clusterEvents` channel, PostgreSQL LISTEN/NOTIFY: no polling; the feed's safety re-check reads again every 15 s,
   * every 1 s while its connection is down). A `: heartbeat` comment is sent after `heartbeatMs` (default 15 s)
   * without a message. The stream ends when the client goes, when the application stops, after `maxStreamMs`
   * (default 30 min), or on a database error; the client reconnects with Last-Event-ID (`retry: 3000` ms). Organisation-scoped like every read: another organisation's cluster
   * is 404. Works with an API key or a session cookie (viewer or above).
   * @throws Problem 404 unknown cluster; 400 `invalid-last-event-id`; 503 `too-many-event-streams` (EventStreams' bounds).
   */
  @Get(':id/events/stream')
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event id' })
  @ApiOkResponse({ description: 'text/event-stream: `id: <event id>`, `event: cluster-event`, `data: {"id","type","reason","object","message","createdAt"}`' })
  async stream(
    @CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string, @Query() q: StreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined, @Res() res: Response,
  ): Promise<void> {
    const resumeAt = lastEventId ?? q.lastEventId;
    if (resumeAt !== undefined && !/^\d{1,18}$/.test(resumeAt)) throw new Problem(400, 'invalid-last-event-id', 'Invalid Last-Event-ID', 'Last-Event-ID must be an event id');
    const scope = orgScope(org);
    // subscribed before the first read: an event committed after it is notified to this subscription
    const sub = this.feed.subscribe('clusterEvents', id);
    let closed = false;
    const end = () => {
      if (closed) return;
      closed = true;
      sub.close();
      if (!res.writableEnded) res.end();
    };
    try {
      if (!(await this.clusters.findById(scope, id))) throw Problem.notFound(`cluster ${id}`);
    } catch (e) {
      sub.close();
      throw e;
    }
    let forget: () => void;
    try {
      forget = this.streams.add(org, end);
    } catch (e) {
      sub.close();
      throw e;
    }
    // the response's close: the client went away (or the answer ended)
    res.on('close', end);
    const send = (text: string) => {
      if (!closed && !res.writableEnded) res.write(text);
    };
    res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    send('retry: 3000\n\n');
    let after = resumeAt;
    let lastWrite = Date.now();
    const endAt = Date.now() + this.maxStreamMs;
    try {
      while (!closed && Date.now() < endAt) {
        const rows = await this.events.list(scope, id, after, PAGE);
        for (const e of rows) {
          const data: ClusterEventMessage = { id: e.id, type: e.type, reason: e.reason, object: e.object, message: e.message, createdAt: e.createdAt };
          send(`id: ${e.id}\nevent: ${CLUSTER_EVENT_SSE}\ndata: ${JSON.stringify(data)}\n\n`);
          after = e.id;
        }
        if (rows.length) lastWrite = Date.now();
        if (rows.length === PAGE) continue;
        const wait = Math.max(1, Math.min(this.heartbeatMs - (Date.now() - lastWrite), endAt - Date.now()));
        const changed = await sub.next(wait);
        if (!changed && !closed && Date.now() - lastWrite >= this.heartbeatMs) {
          send(': heartbeat\n\n');
          lastWrite = Date.now();
        }
      }
    } catch {
      // the database went away mid-stream: the client reconnects with Last-Event-ID
    } finally {
      forget();
      end();
    }
  }
}
