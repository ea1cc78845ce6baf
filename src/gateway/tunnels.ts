// The WebSocket tunnels open on this instance, each with what authorised it, so that none outlives
// its authorisation. A tunnel is closed, with one `tunnel_close` audit record, when its session is
// revoked, when its token's `exp` passes, when a new policy generation would refuse the request
// that opened it, when it reaches `websocket.maxLifetimeMs`, and at shutdown. Closing is polite
// where the framing allows: a close frame to the caller (1008, or 1001 at shutdown) written on a
// frame boundary of the upstream's stream, then both sockets destroyed within a bounded time.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { RevocationCheck } from '../auth/index.js';
import { revocationSubjects, type Principal } from '../identity/index.js';
import type { AuditEventInput, AuditSink } from './audit.js';
import type { RequestFacts } from './context.js';
import type { DecisionEvent, PipelineOutcome } from './pipeline.js';
import { closeFrame, createFrameTracker, type FrameTracker } from './ws-frames.js';

export const TUNNEL_CLOSE_REASONS = ['session_revoked', 'revocation_unavailable', 'token_expired', 'policy_denied', 'max_lifetime', 'shutdown'] as const;
export type TunnelCloseReason = (typeof TUNNEL_CLOSE_REASONS)[number];

/**
 * Status codes of the close frame (RFC 6455 §7.4.1, and the IANA registry for 1013): going away at
 * shutdown, try again later when the revocation state is unavailable (the 503 of an ordinary
 * request), policy violation otherwise.
 */
const CLOSE_FRAMES: Readonly<Record<TunnelCloseReason, Buffer>> = {
  session_revoked: closeFrame(1008, 'session_revoked'),
  revocation_unavailable: closeFrame(1013, 'revocation_unavailable'),
  token_expired: closeFrame(1008, 'token_expired'),
  policy_denied: closeFrame(1008, 'policy_denied'),
  max_lifetime: closeFrame(1008, 'max_lifetime'),
  shutdown: closeFrame(1001, 'shutdown'),
};

/** How long a caller has to answer the close frame before both sockets are destroyed, ms. */
export const DEFAULT_CLOSE_GRACE_MS = 1000;

/** Longest delay a Node timer takes; later deadlines are reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What authorised a tunnel. */
export interface TunnelGrant {
  /**
   * The opening request as received, kept to decide it again after a reload. It holds the
   * caller's `Authorization` header: it stays in memory and is never logged or recorded.
   */
  readonly facts: RequestFacts;
  readonly principal: Principal;
  /** The Allow decision event that opened the tunnel. */
  readonly event: DecisionEvent;
}

export interface TunnelRegistryDeps {
  readonly audit: AuditSink;
  readonly logger: Logger;
  readonly now: () => number;
  /** `websocket.maxLifetimeMs`; 0 for no limit. */
  readonly maxLifetimeMs: number;
  readonly closeGraceMs?: number;
  /** The policy generation now serving (undefined before the first load). */
  readonly generation: () => number | undefined;
  /** Decides a request again against the current policies, without an audit record; undefined when deciding failed. */
  readonly redecide: (facts: RequestFacts) => Promise<PipelineOutcome | undefined>;
  /** Told about every close (metrics). */
  readonly onClose?: (reason: TunnelCloseReason) => void;
  /**
   * The session's credential now, as the revocation list answers (it prunes what no longer
   * matters): asked as a tunnel opens, since a revocation may have arrived while its upstream
   * handshake was under way. Anything but 'ok' closes the tunnel, 'unavailable' (a list too stale
   * to trust) included, as it refuses an ordinary request. Without it, only revocations heard
   * after the open close it.
   */
  readonly sessionRevocation?: (principal: Principal) => RevocationCheck;
}

export interface Tunnels {
  /** Registers a tunnel that has just switched protocols; it leaves the registry when its caller's socket closes. */
  open(grant: TunnelGrant, client: Duplex, upstream: Duplex): void;
  /** Sessions of `subject` (a user, role or role session ARN) issued at or before `before` (epoch ms) are revoked: closes their tunnels. */
  revoked(subject: string, before: number): void;
  /** Decides every tunnel opened under an older policy generation again; closes those now refused. */
  redecide(): Promise<void>;
  /** Closes every open tunnel (shutdown). */
  closeAll(reason: TunnelCloseReason): void;
  /** Tunnels open now. */
  size(): number;
}

interface Tunnel {
  readonly grant: TunnelGrant;
  /** The names whose revocation ends the tunnel's session (`revocationSubjects`). */
  readonly subjects: readonly string[];
  readonly client: Duplex;
  readonly upstream: Duplex;
  readonly openedAt: number;
  /** Frames the upstream has sent to the caller. */
  readonly downstream: FrameTracker;
  readonly track: (chunk: Buffer) => void;
  /** The generation the tunnel was last decided under. */
  generation: number | undefined;
  timer: NodeJS.Timeout | undefined;
  closing: boolean;
}

/** Why a new decision refuses a tunnel: its session or token, else the policies. */
function refusalReason(outcome: PipelineOutcome | undefined): TunnelCloseReason {
  const reason = outcome?.event.reason;
  return reason === 'session_revoked' || reason === 'revocation_unavailable' || reason === 'token_expired' ? reason : 'policy_denied';
}

/** Why a tunnel may not open, as the revocation list answers; undefined when it may. */
const REVOCATION_CLOSE: Readonly<Record<RevocationCheck, TunnelCloseReason | undefined>> = {
  ok: undefined,
  revoked: 'session_revoked',
  unavailable: 'revocation_unavailable',
};

/** Creates the registry of this instance's open tunnels. */
export function createTunnelRegistry(deps: TunnelRegistryDeps): Tunnels {
  const { audit, logger, now } = deps;
  const closeGraceMs = deps.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
  const open = new Set<Tunnel>();
  const bySubject = new Map<string, Set<Tunnel>>();

  function forget(t: Tunnel): void {
    open.delete(t);
    for (const subject of t.subjects) {
      const same = bySubject.get(subject);
      same?.delete(t);
      if (same?.size === 0) bySubject.delete(subject);
    }
    if (t.timer) clearTimeout(t.timer);
    t.timer = undefined;
    t.upstream.off('data', t.track);
  }

  function record(t: Tunnel, reason: TunnelCloseReason, refusal: PipelineOutcome | undefined): void {
    const e = t.grant.event;
    const refused = refusal?.event;
    const event: AuditEventInput = {
      kind: 'tunnel_close',
      reason,
      ...(e.requestId !== undefined ? { requestId: e.requestId } : {}),
      ...(e.principal !== undefined ? { principal: e.principal } : {}),
      ...(e.authn !== undefined ? { authn: e.authn } : {}),
      ...(e.action !== undefined ? { action: e.action } : {}),
      ...(e.resource !== undefined ? { resource: e.resource } : {}),
      ...(e.method !== undefined ? { method: e.method } : {}),
      ...(e.path !== undefined ? { path: e.path } : {}),
      ...(e.sourceIp !== undefined ? { sourceIp: e.sourceIp } : {}),
      ...(t.generation !== undefined ? { policyGeneration: refused?.policyGeneration ?? t.generation } : {}),
      ...(refused?.statements !== undefined && refused.statements.length > 0 ? { statements: refused.statements } : {}),
    };
    try {
      const pending = audit.record(event);
      if (pending) pending.catch((err: unknown) => logger.warn({ requestId: e.requestId, err }, 'tunnel close not recorded'));
    } catch (err) {
      logger.warn({ requestId: e.requestId, err }, 'tunnel close not recorded');
    }
    const socket = t.client as Partial<Socket>;
    logger.info({ requestId: e.requestId, reason, durationMs: now() - t.openedAt, bytesIn: socket.bytesRead, bytesOut: socket.bytesWritten }, 'websocket tunnel closed');
  }

  function close(t: Tunnel, reason: TunnelCloseReason, refusal?: PipelineOutcome): void {
    if (t.closing) return;
    t.closing = true;
    forget(t);
    record(t, reason, refusal);
    deps.onClose?.(reason);
    const { client, upstream } = t;
    // Nothing more passes either way; the upstream is destroyed with the caller's socket.
    upstream.unpipe(client);
    client.unpipe(upstream);
    upstream.pause();
    if (client.destroyed || !client.writable || !t.downstream.atBoundary()) {
      // Mid-frame: a close frame now would corrupt the frame under way, so the connection is cut.
      client.destroy();
      return;
    }
    client.write(CLOSE_FRAMES[reason]);
    client.end();
    // The caller's answering close frame and end are read and dropped; a caller that does not
    // answer is cut after the grace.
    client.resume();
    const timer = setTimeout(() => client.destroy(), closeGraceMs);
    timer.unref();
    client.once('close', () => clearTimeout(timer));
    client.once('end', () => client.destroy());
  }

  /** Arms the tunnel's one timer for the earlier of its token's `exp` and its maximum lifetime. */
  function arm(t: Tunnel): void {
    const expires = t.grant.principal.expiresAt;
    const lifetimeEnds = deps.maxLifetimeMs > 0 ? t.openedAt + deps.maxLifetimeMs : Infinity;
    const at = now();
    if (!(expires > at)) {
      close(t, 'token_expired');
      return;
    }
    if (lifetimeEnds <= at) {
      close(t, 'max_lifetime');
      return;
    }
    const next = Math.min(expires, lifetimeEnds);
    t.timer = setTimeout(() => {
      t.timer = undefined;
      arm(t);
    }, Math.min(MAX_TIMER_MS, Math.max(0, next - at)));
    t.timer.unref();
  }

  async function recheck(t: Tunnel): Promise<void> {
    let outcome: PipelineOutcome | undefined;
    try {
      outcome = await deps.redecide({ ...t.grant.facts, now: now() });
    } catch (err) {
      logger.error({ requestId: t.grant.event.requestId, err }, 'tunnel re-decision failed');
      outcome = undefined;
    }
    if (t.closing) return;
    if (outcome?.kind === 'allow') {
      t.generation = outcome.event.policyGeneration;
      return;
    }
    close(t, refusalReason(outcome), outcome);
  }

  let passes: Promise<void> = Promise.resolve();
  /** One pass over the tunnels decided under another generation than the current one. */
  async function pass(): Promise<void> {
    for (const t of [...open]) {
      if (!t.closing && t.generation !== deps.generation()) await recheck(t);
    }
  }


  return {
    open(grant, client, upstream) {
      const downstream = createFrameTracker();
      const subjects = revocationSubjects(grant.principal);
      const t: Tunnel = {
        grant,
        subjects,
        client,
        upstream,
        openedAt: now(),
        downstream,
        track: (chunk: Buffer) => downstream.feed(chunk),
        generation: grant.event.policyGeneration,
        timer: undefined,
        closing: false,
      };
      upstream.on('data', t.track);
      open.add(t);
      for (const subject of subjects) {
        let same = bySubject.get(subject);
        if (!same) bySubject.set(subject, (same = new Set()));
        same.add(t);
      }
      // Closed by the caller or the upstream: no record, and a re-decision under way finds it closed.
      client.once('close', () => {
        t.closing = true;
        forget(t);
      });
      const refused = deps.sessionRevocation && REVOCATION_CLOSE[deps.sessionRevocation(grant.principal)];
      if (refused) {
        close(t, refused);
        return;
      }
      arm(t);
      // Policies reloaded while the upstream was answering the handshake: decide it again now.
      if (!t.closing && t.generation !== deps.generation()) {
        passes = passes.then(() => recheck(t)).catch((err: unknown) => logger.error({ err }, 'tunnel re-decision failed'));
      }
    },
    revoked(subject, before) {
      const same = bySubject.get(subject);
      if (!same) return;
      for (const t of [...same]) if (t.grant.principal.issuedAt <= before) close(t, 'session_revoked');
    },
    redecide() {
      passes = passes.then(pass, pass);
      return passes;
    },
    closeAll(reason) {
      for (const t of [...open]) close(t, reason);
    },
    size: () => open.size,
  };
}
