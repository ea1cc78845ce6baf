// Requests refused before the pipeline could read them as requests: malformed HTTP (node:http's
// clientError: 400, 431, 408), requests the HTTP adapter cannot represent (no or a bad Host),
// too many header lines, upgrades to other protocols. Each gets iamgate's JSON answer with a
// request id and exactly one audit record (through the pipeline's refusal stage), and its socket
// is ended within a bounded time whatever the client keeps sending.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { errorAnswer } from '../errors/index.js';
import type { GatewayMetrics } from './metrics.js';
import type { Pipeline, PipelineOutcome, Refusal } from './pipeline.js';
import { requestFacts } from './proxy-handler.js';
import { closeAfterAnswer, writeJson, writeOperatorSocketError, writeSocketJson } from './respond.js';
import { failBody, REFUSED_DEADLINE_MS, RequestBodyError } from '../proxy/index.js';
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
   * listener, answered only on the operations listener (which audits nothing, so its answers name
   * no request id).
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
        const socket = duplex as Socket & { _httpMessage?: { headersSent?: boolean; shouldKeepAlive?: boolean; req?: IncomingMessage; once(event: 'close', listener: () => void): unknown } | null };
        // A reset connection can only be closed; so can one the caller ended in the middle of a
        // request's body: the request's handler records the caller gone (client_closed).
        if (err.code === 'ECONNRESET' || (err.code === 'HPE_INVALID_EOF_STATE' && socket._httpMessage?.req?.complete === false) || !socket.writable) {
          socket.destroy();
          return;
        }
        const inFlight = socket._httpMessage;
        const refusal = clientRefusal(err.code);
        // A request being handled whose body can never arrive whole (its deadline passed, its
        // framing broke): the body fails with why, and the request's own handler answers it under
        // its id and records the reason (the upstream leg's outcome, the STS call's record). That
        // answer is owed once the request is decided, which may be long after (a key set being
        // fetched): the socket is destroyed REFUSED_DEADLINE_MS after the answer ends, not after the
        // body failed, which would cut the answer its record names. Deciding is bounded as for any
        // request, which holds its connection as long. Bytes that are not HTTP after a complete
        // request: that request's answer (and its record) stands, and the connection closes after
        // it; answering the bytes instead would send an answer no record names, in place of the
        // one recorded.
        if (inFlight && audited) {
          inFlight.shouldKeepAlive = false;
          closeAfterAnswer(socket);
          const request = inFlight.req;
          if (request?.complete !== true) {
            sockets.refused(refusal.code);
            if (request) failBody(request, new RequestBodyError(refusal.code === 'request_timeout' ? 'request_timeout' : 'malformed_request'));
            inFlight.once('close', () => setTimeout(() => socket.destroy(), REFUSED_DEADLINE_MS).unref());
          }
          return;
        }
        // A response begun on the operations listener can only be cut.
        if (inFlight?.headersSent === true) {
          socket.destroy();
          return;
        }
        sockets.refused(refusal.code);
        if (!audited) {
          writeOperatorSocketError(socket, refusal.code);
          return;
        }
        const requestId = nextId();
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
