import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_BASE } from './problem';

/** Status and problem type of a request Node's HTTP parser refused, by the parser's error code (default 400). */
const PARSER_ERRORS: Record<string, { status: number; type: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, type: 'headers-too-large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, type: 'request-timeout' },
};

const PROBLEM_HEADERS = { 'content-type': 'application/problem+json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', connection: 'close' };

/**
 * A whole HTTP/1.1 response carrying an RFC 9457 problem, closing the connection (the parser's state is lost); no
 * body for a HEAD request.
 */
function problemResponse(status: number, body: string, head: boolean): string {
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, ...Object.entries(PROBLEM_HEADERS).map(([k, v]) => `${k}: ${v}`)];
  return [...lines, `content-length: ${head ? 0 : Buffer.byteLength(body)}`, '', head ? '' : body].join('\r\n');
}

/**
 * Answers what never reaches Express as problems too (issue 10: every 4xx is `application/problem+json`), instead
 * of Node's bare `400 Bad Request` without a body:
 * - a request Node's parser refuses (`clientError`: a header with invalid characters, an unknown method, a broken
 *   chunked body → 400 `malformed-request`; headers over the server's limit → 431 `headers-too-large`; a request not
 *   received within the server's timeouts → 408 `request-timeout`). When the request was already handed to Express
 *   (a broken chunked body after valid headers) and its answer has not started, that answer is this problem (what
 *   the handler writes later is dropped: see sendProblem); an answer under way is finished. The connection is
 *   closed either way;
 * - an `Expect` other than `100-continue` (`checkExpectation`) → 417 `expectation-failed`.
 * The detail names the rule only (no parser internals, no echo of the request).
 */
export function problemsForClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { status, type } = PARSER_ERRORS[err.code ?? ''] ?? { status: 400, type: 'malformed-request' };
    const detail = status === 431 ? 'the request headers are larger than the server accepts'
      : status === 408 ? 'the request was not received in time'
        : 'the request is not valid HTTP/1.1 (request line, header names and values, or body framing)';
    const body = JSON.stringify({ type: PROBLEM_BASE + type, title: STATUS_CODES[status] ?? 'Error', status, detail });
    // the request Node is answering on this socket, if any (Node's own handler looks at the same field)
    const res = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (res) {
      if (res.headersSent) res.once('finish', () => socket.destroy());
      else {
        const payload = res.req.method === 'HEAD' ? '' : body;
        res.writeHead(status, { ...PROBLEM_HEADERS, 'content-length': Buffer.byteLength(payload) }).end(payload);
      }
      return;
    }
    socket.end(problemResponse(status, body, err.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD '));
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify({ type: PROBLEM_BASE + 'expectation-failed', title: 'Expectation Failed', status: 417, detail: 'only "Expect: 100-continue" is supported', instance: req.url });
    const payload = req.method === 'HEAD' ? '' : body;
    res.writeHead(417, { ...PROBLEM_HEADERS, 'content-length': Buffer.byteLength(payload) }).end(payload);
  });
}
