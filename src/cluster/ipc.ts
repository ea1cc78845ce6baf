// Announcements between the workers of `serve --workers N` when there is no Redis: each worker
// sends its own to the primary over node:cluster's IPC channel, and the primary hands them to every
// other worker (`relayAnnouncement`). A policy generation one worker loaded (a reload asked on the
// operations port reaches one worker only) makes the others empty their in-process decision cache
// and load again; a revocation made on one worker makes the others read the shared state at once.
import { parseAnnouncement, type Announcement, type Bus } from './transport.js';

/** One announcement on the IPC channel, as the announcing worker sends it and the primary relays it. */
export interface BusMessage {
  readonly iamgateBus: string;
}

/** A worker's channel to the primary (its `process.send` and `message` events). */
export interface BusChannel {
  send(message: BusMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** The announcement a relayed message carries, or undefined for any other message. */
export function busMessageOf(message: unknown): BusMessage | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const text = (message as { iamgateBus?: unknown }).iamgateBus;
  return typeof text === 'string' ? { iamgateBus: text } : undefined;
}

/** A Bus over the IPC channel; `deliver` hears every other worker's announcements. */
export function createIpcBus(channel: BusChannel, deliver: (a: Announcement) => void): Bus {
  let closed = false;
  channel.onMessage((m) => {
    const message = closed ? undefined : busMessageOf(m);
    const a = message && parseAnnouncement(message.iamgateBus);
    if (a) deliver(a);
  });
  return {
    async publish(a) {
      if (closed) return false;
      try {
        channel.send({ iamgateBus: JSON.stringify(a) });
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      closed = true;
    },
  };
}
