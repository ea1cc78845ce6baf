// Announcements between replicas over Redis pub/sub: a new policy generation (so every replica
// drops its in-process entries and reloads), and a session revocation (so every replica refreshes
// its revocation list at once instead of at its next poll). Pub/sub delivers only to connected
// subscribers, so the latest generation is also kept in a key that a subscriber reads each time
// it (re)connects: a replica that was cut off learns what it missed.
import type { Redis } from 'ioredis';
import { within } from '../cache/redis.js';

export interface GenerationAnnouncement {
  readonly type: 'generation';
  readonly hash: string;
  /** The announcing instance. */
  readonly origin: string;
  /** When it was announced, epoch ms (the announcer's clock). */
  readonly at: number;
}

export interface RevocationAnnouncement {
  readonly type: 'revocation';
  /** The user or role ARN whose sessions are revoked. */
  readonly subject: string;
  /** Sessions issued at or before this time (epoch ms) are revoked. */
  readonly before: number;
  readonly origin: string;
  readonly at: number;
}

export type Announcement = GenerationAnnouncement | RevocationAnnouncement;

export interface BusOptions {
  readonly redis: Redis;
  readonly channel: string;
  /** Key holding the latest generation announcement. */
  readonly latestKey: string;
  readonly instanceId: string;
  readonly now: () => number;
  /** Deadline of publishing commands, ms. */
  readonly timeoutMs: number;
  /** Called for every valid announcement from another instance. */
  readonly deliver: (a: Announcement) => void;
  readonly onError?: (operation: string, err: unknown) => void;
}

export interface Bus {
  /** Publishes an announcement (and, for a generation, stores it as the latest); false when Redis did not take it. */
  publish(a: Announcement): Promise<boolean>;
  close(): Promise<void>;
}

const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Reads an announcement strictly; undefined for anything else. */
export function parseAnnouncement(text: string): Announcement | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined; // not an announcement
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (!isText(o['origin']) || !isTime(o['at'])) return undefined;
  if (o['type'] === 'generation' && isText(o['hash'])) {
    return { type: 'generation', hash: o['hash'], origin: o['origin'], at: o['at'] };
  }
  if (o['type'] === 'revocation' && isText(o['subject']) && isTime(o['before'])) {
    return { type: 'revocation', subject: o['subject'], before: o['before'], origin: o['origin'], at: o['at'] };
  }
  return undefined;
}

/** Subscribes on a separate connection and returns the publishing side. */
export function createBus(o: BusOptions): Bus {
  const { redis, channel, latestKey } = o;
  const onError = o.onError ?? (() => undefined);
  // A subscriber waits for messages indefinitely: it queues its SUBSCRIBE until connected and
  // re-subscribes by itself after every reconnection.
  const subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined, autoResubscribe: true });
  const onSubscriberError = (err: Error): void => onError('subscriber', err);
  subscriber.on('error', onSubscriberError);

  const receive = (text: string): void => {
    const a = parseAnnouncement(text);
    if (a && a.origin !== o.instanceId) o.deliver(a);
  };
  subscriber.on('message', (ch: string, text: string) => {
    if (ch === channel) receive(text);
  });
  // On every (re)connection, catch up with the latest generation announced while away.
  const catchUp = async (): Promise<void> => {
    try {
      const latest = await within(redis.get(latestKey), o.timeoutMs);
      if (latest) receive(latest);
    } catch (err) {
      onError('catch-up', err);
    }
  };
  const onReady = (): void => void catchUp();
  // Either connection may come back last: catch up when each is ready.
  subscriber.on('ready', onReady);
  redis.on('ready', onReady);
  subscriber.subscribe(channel).catch((err: unknown) => onError('subscribe', err));

  return {
    async publish(a) {
      const text = JSON.stringify(a);
      try {
        if (a.type === 'generation') await within(redis.set(latestKey, text), o.timeoutMs);
        await within(redis.publish(channel, text), o.timeoutMs);
        return true;
      } catch (err) {
        onError('publish', err);
        return false;
      }
    },
    async close() {
      redis.off('ready', onReady);
      subscriber.removeAllListeners('message');
      subscriber.removeAllListeners('ready');
      subscriber.disconnect();
      subscriber.off('error', onSubscriberError);
      subscriber.on('error', () => undefined);
    },
  };
}
