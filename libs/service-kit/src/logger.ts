import pino, { Logger } from 'pino';

/**
 * Structured JSON logs (pino). Secrets are redacted by path as a second line of defence; the first is never
 * putting them in log objects.
 */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: service,
    level,
    redact: {
      paths: ['*.secretAccessKey', '*.private_key', '*.clientSecret', '*.token', '*.credentials', '*.authorization', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  });
}
export type { Logger };
