import { Controller, Get, Header } from '@nestjs/common';
import { Public } from './access';
import type { NextFunction, Request, Response } from 'express';
import { Histogram, collectDefaultMetrics, register } from 'prom-client';

/**
 * `skyweave_http_request_duration_seconds{method, route, status}`: every API request from arrival to the last byte of
 * its answer, seconds, by the route's pattern (`/v1/clusters/:id`, never the ids themselves: no tenant data in labels;
 * `unmatched` for a path no route serves). Long polls are counted with their hold time. In prom-client's default
 * registry, with the process metrics and the cloud-call metrics of @skyweave/cloud-adapters.
 */
let httpDuration: Histogram<'method' | 'route' | 'status'> | undefined;

function histogram(): Histogram<'method' | 'route' | 'status'> {
  if (!httpDuration) {
    collectDefaultMetrics({ register });
    httpDuration = new Histogram({
      name: 'skyweave_http_request_duration_seconds', help: 'API requests from arrival to the end of the answer, seconds',
      labelNames: ['method', 'route', 'status'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30, 60],
      registers: [register],
    });
  }
  return httpDuration;
}

/** Express middleware timing each request into skyweave_http_request_duration_seconds. */
export function httpMetrics(): (req: Request, res: Response, next: NextFunction) => void {
  const h = histogram();
  return (req, res, next) => {
    const end = h.startTimer();
    res.once('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      end({ method: req.method, route: route ? `${req.baseUrl}${route}` : 'unmatched', status: String(res.statusCode) });
    });
    next();
  };
}

/** `GET /metrics`: Prometheus text format of prom-client's default registry (HTTP, process, cloud calls). */
@Public()
@Controller('metrics')
export class MetricsController {
  @Get()
  @Header('content-type', register.contentType)
  metrics(): Promise<string> {
    return register.metrics();
  }
}
