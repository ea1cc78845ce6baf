// Raw HTTP/1.x over a loopback socket for adversarial tests: bytes go out exactly as written (no
// client-side normalisation of the request line or headers), and the exchange always ends — when
// the server closes, when `until` says enough arrived, or at a deadline — so no test can hang.
import net from 'node:net';

export interface RawExchange {
  /** Everything the server sent, as latin1 text. */
  readonly text: string;
  /** Status codes of the responses found in `text`, in order. */
  readonly statuses: number[];
  /** The server closed the connection (rather than the deadline or `until` ending the exchange). */
  readonly closedByServer: boolean;
  /** The deadline ended the exchange. */
  readonly timedOut: boolean;
}

export interface ExchangeOptions {
  /** Deadline for the whole exchange (default 3 s). */
  readonly timeoutMs?: number;
  /** Ends the exchange early once the received text satisfies it. */
  readonly until?: (text: string) => boolean;
  /** Writes more after connecting (partial requests, slow writes); resolves when done writing. */
  readonly drive?: (socket: net.Socket) => Promise<void>;
}

/** One response of a raw HTTP/1.x byte stream: its status, header block and where it ends. */
export interface RawResponse {
  readonly status: number;
  readonly head: string;
  readonly body: string;
  readonly end: number;
  /** The whole body has arrived (always false for a body that runs to the end of the connection). */
  readonly complete: boolean;
}

/** Reads the response starting at `at`, or undefined when none (or only part of one) is there. */
function responseAt(text: string, at: number): RawResponse | undefined {
  const m = /^HTTP\/1\.[01] (\d{3}) /.exec(text.slice(at, at + 16));
  const headEnd = text.indexOf('\r\n\r\n', at);
  if (!m || headEnd < 0) return undefined;
  const head = text.slice(at, headEnd);
  const status = Number(m[1]);
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (length) {
    const end = headEnd + 4 + Number(length[1]);
    return { status, head, body: text.slice(headEnd + 4, end), end, complete: end <= text.length };
  }
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
    // The last chunk: `0` at the start of a line (the header block's own CRLF counts for an empty body).
    const last = text.indexOf('\r\n0\r\n\r\n', headEnd + 2);
    return last < 0 ? { status, head, body: text.slice(headEnd + 4), end: text.length, complete: false } : { status, head, body: text.slice(headEnd + 4, last + 7), end: last + 7, complete: true };
  }
  // 1xx, 204, 304 and 101 have no body; anything else runs to the end of the connection.
  const bodiless = status < 200 || status === 204 || status === 304;
  const end = bodiless ? headEnd + 4 : text.length;
  return { status, head, body: text.slice(headEnd + 4, end), end, complete: bodiless };
}

/** The responses in a raw HTTP/1.x byte stream, in order (a pipelined stream holds several). */
export function responsesOf(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  for (let r = responseAt(text, at); r; r = responseAt(text, at)) {
    out.push(r);
    if (r.end <= at) break;
    at = r.end;
  }
  return out;
}

/** The status codes of every response in a raw HTTP/1.x byte stream. */
export function statusesOf(text: string): number[] {
  return responsesOf(text).map((r) => r.status);
}

/** Sends `payload` on a fresh connection and collects the answer. */
export function exchange(port: number, payload: string | Buffer, opts: ExchangeOptions = {}): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (closedByServer: boolean, timedOut: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, statuses: statusesOf(text), closedByServer, timedOut });
    };
    const timer = setTimeout(() => finish(false, true), opts.timeoutMs ?? 3000);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      if (opts.until?.(text)) finish(false, false);
    });
    socket.on('error', () => finish(true, false));
    socket.on('close', () => finish(true, false));
    socket.on('connect', () => {
      socket.write(payload);
      if (opts.drive) void opts.drive(socket).catch(() => finish(true, false));
    });
  });
}

/** `count` complete responses have arrived (for keep-alive and pipelined exchanges). */
export function responsesComplete(count: number): (text: string) => boolean {
  return (text) => {
    const list = responsesOf(text);
    return list.length >= count && list[count - 1]!.complete;
  };
}

/** The JSON body of the `index`-th response (content-length framed, as iamgate's own answers are). */
export function jsonOf(text: string, index = 0): Record<string, unknown> {
  const r = responsesOf(text)[index];
  if (!r) throw new Error(`no response #${index} in ${JSON.stringify(text.slice(0, 200))}`);
  return JSON.parse(r.body) as Record<string, unknown>;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
