// The sockets of one listener, from accept to close: counted (open, refused by reason, accept
// failures), ended within a bounded time when refused whatever the client keeps sending, and all
// destroyed at shutdown — upgraded and refused ones included, which Node's HTTP server no longer
// tracks once it has handed them over.
import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { Counter, Gauge, type Registry } from 'prom-client';

export type ListenerName = 'gateway' | 'operations' | 'ext_authz';

/**
 * How long readiness stays not-ready after an accept failed for lack of descriptors, unless the
 * listener accepts a connection sooner, ms (one default Kubernetes probe period).
 */
export const ACCEPT_ERROR_HOLD_MS = 10_000;

/**
 * Descriptors kept free: with fewer than this left, readiness says not-ready, while the probe and
 * the connections in flight can still be served (libuv closes what it cannot accept unseen).
 */
export const DESCRIPTOR_HEADROOM = 32;

/** The process's soft limit on open descriptors (Linux /proc), or undefined where it cannot be read. */
export function descriptorLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why the process is short of descriptors (empty when it is not): read when readiness is asked,
 * never on the request path.
 */
export function descriptorShortage(limit: number | undefined): string[] {
  if (limit === undefined) return [];
  let open: number;
  try {
    open = readdirSync('/proc/self/fd').length;
  } catch {
    return [];
  }
  return open >= limit - DESCRIPTOR_HEADROOM ? [`file descriptors nearly exhausted (${open} of ${limit} open)`] : [];
}

/** Accept failures that mean the process or the system is out of descriptors. */
const DESCRIPTOR_ERRORS: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE']);

export interface SocketMetrics {
  readonly open: Gauge<'listener'>;
  readonly limit: Gauge<'listener'>;
  readonly acceptErrors: Counter<'listener' | 'code'>;
  readonly refused: Counter<'listener' | 'reason'>;
}

/** Registers the connection metrics on a gateway's registry. */
export function createSocketMetrics(registry: Registry): SocketMetrics {
  const registers = [registry];
  return {
    open: new Gauge({ name: 'iamgate_connections_open', help: 'Client connections open, by listener', labelNames: ['listener'], registers }),
    limit: new Gauge({ name: 'iamgate_connections_limit', help: 'Most client connections a listener keeps open (listen.maxConnections, extAuthz.grpc.maxConnections)', labelNames: ['listener'], registers }),
    acceptErrors: new Counter({ name: 'iamgate_accept_errors_total', help: 'Connections that could not be accepted, by listener and error (EMFILE, ENFILE, ...)', labelNames: ['listener', 'code'], registers }),
    refused: new Counter({ name: 'iamgate_refused_connections_total', help: 'Connections iamgate ended itself, by listener and reason', labelNames: ['listener', 'reason'], registers }),
  };
}

export interface ListenerSockets {
  /** Sockets open now. */
  open(): number;
  /** Counts a socket iamgate refused (it was or will be ended by `endRefused`). */
  refused(reason: string): void;
  /** Why this listener cannot take more traffic now (empty when it can). */
  saturation(now: number): string[];
  /** Destroys every socket still open (shutdown, after the grace period). */
  destroyAll(): void;
}

export interface TrackOptions {
  readonly name: ListenerName;
  readonly metrics: SocketMetrics;
  /** `server.maxConnections`, when the listener has one. */
  readonly maxConnections?: number;
  readonly now: () => number;
  /** Told about server errors that are not accept failures. */
  readonly onError: (err: Error) => void;
}

/** Tracks every socket `server` accepts, and its accept failures and dropped connections. */
export function trackSockets(server: Server, o: TrackOptions): ListenerSockets {
  const sockets = new Set<Duplex>();
  const listener = { listener: o.name };
  let descriptorsOutAt: number | undefined;
  let descriptorsOutCode = '';
  if (o.maxConnections !== undefined) o.metrics.limit.set(listener, o.maxConnections);
  o.metrics.open.set(listener, 0);

  server.on('connection', (socket: Duplex) => {
    // Accepted: descriptors are available again.
    descriptorsOutAt = undefined;
    sockets.add(socket);
    o.metrics.open.inc(listener);
    socket.once('close', () => {
      sockets.delete(socket);
      o.metrics.open.dec(listener);
    });
  });
  // Over `maxConnections`: Node closes the connection as it arrives.
  server.on('drop', () => o.metrics.refused.inc({ listener: o.name, reason: 'max_connections' }));
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.syscall !== 'accept') {
      o.onError(err);
      return;
    }
    const code = err.code ?? 'unknown';
    o.metrics.acceptErrors.inc({ listener: o.name, code });
    if (DESCRIPTOR_ERRORS.has(code)) {
      descriptorsOutAt = o.now();
      descriptorsOutCode = code;
    }
  });

  return {
    open: () => sockets.size,
    refused: (reason) => o.metrics.refused.inc({ listener: o.name, reason }),
    saturation(now) {
      const reasons: string[] = [];
      if (o.maxConnections !== undefined && sockets.size >= o.maxConnections) reasons.push(`${o.name} listener at listen.maxConnections (${o.maxConnections} connections open)`);
      if (descriptorsOutAt !== undefined && now - descriptorsOutAt < ACCEPT_ERROR_HOLD_MS) reasons.push(`${o.name} listener cannot accept connections: ${descriptorsOutCode} (out of file descriptors)`);
      return reasons;
    },
    destroyAll() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
