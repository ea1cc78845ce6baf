// One idle bound per caller socket, however many reasons ask for it. A caller can stall two ways at
// once: it stops sending its body while the upstream waits for it, and it stops reading the answer
// while the upstream has more (undici's own timeouts run in neither case). Both use the socket's idle
// timeout, destroying the socket when nothing moves for the bound (no 'timeout' listener, so Node
// destroys it), and that aborts the upstream request. Each reason is a bit here: the bound is armed
// while any reason holds it and lifted only when none does, so the end of the body no longer lifts
// the bound on an answer the caller is not reading, nor a drained answer the bound on a stalled body.
import type { Socket } from 'node:net';

/** Why the caller's socket is bounded: its body stands still, or its answer waits to be read. */
export const IDLE_REASON = { body: 1, answer: 2 } as const;
export type IdleReason = (typeof IDLE_REASON)[keyof typeof IDLE_REASON];

const held = new WeakMap<Socket, number>();

/** Arms the idle bound of `socket` for `reason` (a no-op when that reason already holds it). */
export function holdIdleBound(socket: Socket, reason: IdleReason, idleMs: number): void {
  const reasons = held.get(socket) ?? 0;
  if ((reasons & reason) !== 0) return;
  held.set(socket, reasons | reason);
  if (reasons === 0) socket.setTimeout(idleMs);
}

/** Lets go of the idle bound of `socket` for `reason`; the bound is lifted once no reason holds it. */
export function liftIdleBound(socket: Socket, reason: IdleReason): void {
  const reasons = held.get(socket) ?? 0;
  if ((reasons & reason) === 0) return;
  const left = reasons & ~reason;
  if (left === 0) {
    held.delete(socket);
    socket.setTimeout(0);
  } else held.set(socket, left);
}
