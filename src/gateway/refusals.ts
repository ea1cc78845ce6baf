// Requests refused before the pipeline could read them as requests: malformed HTTP (node:http's
// clientError: 400, 431, 408), requests the HTTP adapter cannot represent (no or a bad Host),
// too many header lines, upgrades to other protocols. Each gets iamgate's JSON answer with a
// request id and exactly one audit record (through the pipeline's refusal stage), and its socket
// is ended within a bounded time whatever the client keeps sending.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { errorAnswer } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import type { Pipeline, PipelineOutcome, Refusal } from './pipeline.js';
import { requestFacts } from './proxy-handler.js';
import { writeJson, writeSocketError, writeSocketJson } from './respond.js';
import { REFUSED_DEADLINE_MS } from '../proxy/index.js';
import type { ListenerSockets } from './sockets.js';

export interface RefusalDeps {
  readonly pipeline: Pipeline;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** The gateway's source of request ids. */
  readonly requestId: () => string;
}

export interface Refusals {
  /** Answers a request on its response (adapter refusals, too many header lines). */
  request(incoming: IncomingMessage, outgoing: ServerResponse, refusal: Refusal): Promise<void>;
  /** Answers an upgrade request on its raw socket. */
  upgrade(incoming: IncomingMessage, socket: Duplex, refusal: Refusal, sockets: ListenerSockets): Promise<void>;
  /**
   * node:http's `clientError` handler for a listener: answered and audited on the gateway
   * listener, answered only on the operations listener (which audits nothing).
   */
  clientError(sockets: ListenerSockets, audited: boolean): (err: NodeJS.ErrnoException, socket: Duplex) => void;
}

/** What node:http's parse or deadline error means for the caller. */
function clientRefusal(code: string | undefined): Refusal {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { code: 'headers_too_large', detail: code };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'request_timeout', detail: code };
    default:
      return { code: 'malformed_request', detail: code ?? 'unparsable request' };
  }
}

export function createRefusals(deps: RefusalDeps): Refusals {
  const { pipeline, metrics, logger, requestId: nextId } = deps;

  /** The refusal decided and recorded; a pipeline failure (a bug) is answered 500, never dropped. */
  async function decide(facts: Parameters<Pipeline['run']>[0], refusal: Refusal): Promise<Pick<PipelineOutcome & { kind: 'reject' }, 'status' | 'body' | 'headers'>> {
    metrics.requests.inc({ outcome: 'bad_request' });
    try {
      const outcome = await pipeline.run(facts, 'proxy', { refusal });
      if (outcome.kind === 'reject') return outcome;
    } catch (err) {
      logger.error({ requestId: facts.requestId, err }, 'pipeline failed');
    }
    return { ...errorAnswer('internal_error', facts.requestId), headers: {} };
  }

  return {
    async request(incoming, outgoing, refusal) {
      const requestId = nextId();
      const answer = await decide(requestFacts(incoming, requestId, deps.now()), refusal);
      writeJson(incoming, outgoing, answer.status, answer.body, requestId, answer.headers);
    },

    async upgrade(incoming, socket, refusal, sockets) {
      socket.on('error', () => socket.destroy());
      sockets.refused(refusal.reason ?? refusal.code);
      const requestId = nextId();
      const answer = await decide(requestFacts(incoming, requestId, deps.now()), refusal);
      writeSocketJson(socket, answer.status, answer.body, requestId, answer.headers);
    },

    clientError(sockets, audited) {
      // node:http reports a parse error again for every later chunk: one answer per connection.
      const answered = new WeakSet<Duplex>();
      return (err, duplex) => {
        if (answered.has(duplex)) return;
        answered.add(duplex);
        // What the client sends from now on is dropped unparsed (see endRefused).
        duplex.removeAllListeners('data');
        const socket = duplex as Socket & { _httpMessage?: { headersSent?: boolean; shouldKeepAlive?: boolean; req?: { complete: boolean } } | null };
        // A reset connection, or one whose response has begun, can only be closed.
        if (err.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent === true) {
          socket.destroy();
          return;
        }
        const inFlight = socket._httpMessage;
        // Bytes that are not HTTP after a request being answered: that request's answer (and its
        // record) stands, and the connection closes after it; answering the bytes instead would send
        // an answer no record names, in place of the one recorded. A body cut short cannot arrive
        // any more: its answer gets REFUSED_DEADLINE_MS before the socket is destroyed. A deadline
        // or a caller gone mid-request is answered as before (the request's record says why).
        if (inFlight && audited && err.code !== 'ERR_HTTP_REQUEST_TIMEOUT' && err.code !== 'HPE_INVALID_EOF_STATE') {
          inFlight.shouldKeepAlive = false;
          if (inFlight.req?.complete !== true) setTimeout(() => socket.destroy(), REFUSED_DEADLINE_MS).unref();
          return;
        }
        const refusal = clientRefusal(err.code);
        sockets.refused(refusal.code);
        const requestId = nextId();
        // A request already being handled (a body past its deadline) has its own audit record.
        if (!audited || socket._httpMessage !== undefined && socket._httpMessage !== null) {
          writeSocketError(socket, refusal.code, requestId);
          return;
        }
        // Nothing was parsed: the record has the caller's address and why, no method or path.
        const facts = { requestId, method: '', target: '', rawHeaders: [], peerAddress: socket.remoteAddress ?? '', secure: false, now: deps.now() };
        void decide(facts, refusal).then((answer) => {
          if (socket.destroyed) return;
          writeSocketJson(socket, answer.status, answer.body, requestId, answer.headers);
        });
      };
    },
  };
}
