// The cluster bus: what replicas sharing one Redis tell each other. A policy generation (the
// digest of the policies an instance installed), announced after every load and sent again until
// Redis takes it or a newer one replaces it; and a session revocation, announced as it happens.
// Listeners hear only other instances, and only generations other than this instance's own. The
// decision cache is not here: the composition root joins the two (src/app/cluster.ts).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createIpcBus, type BusChannel } from './ipc.js';
import { createBus, type Announcement, type Bus, type GenerationAnnouncement, type RevocationAnnouncement } from './transport.js';

export type GenerationListener = (a: GenerationAnnouncement) => void;
export type RevocationListener = (a: RevocationAnnouncement) => void;

export interface ClusterBusDeps {
  /** A fail-fast client; its subscriber is a duplicate of it. Without one (or `ipc`), nothing is announced or heard. */
  readonly redis?: Redis | undefined;
  /** Without Redis, a `serve --workers` worker's channel to the primary, which relays to the other workers. */
  readonly ipc?: BusChannel | undefined;
  /** Pub/sub channel (the latest generation is also kept in `<channel>:latest`). */
  readonly channel: string;
  /** This instance's name in announcements (default: a random UUID). */
  readonly instanceId?: string;
  readonly now: () => number;
  /** Told of each failed Redis command (`publish`, `subscriber`, `subscribe`, `catch-up`). */
  readonly onError?: (operation: string) => void;
}

export interface ClusterBus {
  /**
   * Announces this instance's generation; resolves false when Redis did not take it (sent again in
   * the background until it does, or until a newer generation is announced). Announcing the
   * current generation again says nothing new and resolves true.
   */
  publishGeneration(hash: string): Promise<boolean>;
  /** Another instance announced a generation other than this one's. Returns an unsubscribe function. */
  onGeneration(listener: GenerationListener): () => void;
  /** Announces that a subject's sessions issued before `before` (epoch ms) are revoked. */
  publishRevocation(subject: string, before: number): Promise<boolean>;
  onRevocation(listener: RevocationListener): () => void;
  /** Stops listening and retrying; the Redis client itself belongs to the caller. */
  close(): Promise<void>;
}

/** How long an announcement may take, and how long before one Redis refused is sent again, ms. */
const PUBLISH_TIMEOUT_MS = 1000;
const REPUBLISH_MS = 1000;

/** Creates the bus; with no Redis client it is silent (a single instance has no one to tell). */
export function createClusterBus(deps: ClusterBusDeps): ClusterBus {
  const instanceId = deps.instanceId ?? randomUUID();
  const generationListeners = new Set<GenerationListener>();
  const revocationListeners = new Set<RevocationListener>();
  let current: string | undefined;
  let republish: NodeJS.Timeout | undefined;
  let closed = false;

  const deliver = (a: Announcement): void => {
    if (a.type === 'revocation') {
      for (const listener of revocationListeners) listener(a);
      return;
    }
    if (a.hash === current) return;
    for (const listener of generationListeners) listener(a);
  };
  const bus: Bus | undefined = deps.redis
    ? createBus({
        redis: deps.redis,
        channel: deps.channel,
        latestKey: `${deps.channel}:latest`,
        instanceId,
        now: deps.now,
        timeoutMs: PUBLISH_TIMEOUT_MS,
        deliver,
        onError: (operation) => deps.onError?.(operation),
      })
    : deps.ipc
      ? createIpcBus(deps.ipc, deliver)
      : undefined;

  const announce = async (hash: string): Promise<boolean> => {
    if (republish) clearTimeout(republish);
    republish = undefined;
    if (!bus || closed) return false;
    const ok = await bus.publish({ type: 'generation', hash, origin: instanceId, at: deps.now() });
    if (!ok && !closed && current === hash) {
      republish = setTimeout(() => void announce(hash), REPUBLISH_MS);
      republish.unref();
    }
    return ok;
  };

  return {
    async publishGeneration(hash) {
      if (current === hash) return true;
      current = hash;
      return announce(hash);
    },
    onGeneration(listener) {
      generationListeners.add(listener);
      return () => generationListeners.delete(listener);
    },
    async publishRevocation(subject, before) {
      if (!bus || closed) return false;
      return bus.publish({ type: 'revocation', subject, before, origin: instanceId, at: deps.now() });
    },
    onRevocation(listener) {
      revocationListeners.add(listener);
      return () => revocationListeners.delete(listener);
    },
    async close() {
      closed = true;
      if (republish) clearTimeout(republish);
      await bus?.close();
    },
  };
}
