// WebSocket framing (RFC 6455 §5.2), only as far as closing a tunnel needs it: where the frames
// an upstream sends end, so that iamgate's own close frame never lands inside one of them, and
// the close frame itself.

/** Follows one direction of a WebSocket connection, frame by frame, without copying payloads. */
export interface FrameTracker {
  /** Accounts for bytes as they pass. */
  feed(chunk: Buffer): void;
  /** Every frame seen so far is complete: a frame written now starts on a frame boundary. */
  atBoundary(): boolean;
}

/** Creates a tracker for a stream that starts on a frame boundary (right after the 101 answer). */
export function createFrameTracker(): FrameTracker {
  // Header bytes of the current frame seen so far (0: none), how long the header is once its
  // second byte is known, the payload length read from it, and payload bytes still to pass.
  let seen = 0;
  let headerLength = 2;
  let extended = 0;
  let length = 0;
  let remaining = 0;
  return {
    feed(chunk) {
      let i = 0;
      while (i < chunk.length) {
        if (remaining > 0) {
          const n = Math.min(remaining, chunk.length - i);
          remaining -= n;
          i += n;
          continue;
        }
        const byte = chunk[i++]!;
        seen += 1;
        if (seen === 2) {
          const code = byte & 0x7f;
          extended = code === 126 ? 2 : code === 127 ? 8 : 0;
          length = extended === 0 ? code : 0;
          headerLength = 2 + extended + ((byte & 0x80) !== 0 ? 4 : 0);
        } else if (seen > 2 && seen <= 2 + extended) {
          // Big-endian; a 64-bit length beyond 2^53 only loses precision in a frame that never ends.
          length = length * 256 + byte;
        }
        if (seen >= 2 && seen === headerLength) {
          remaining = length;
          seen = 0;
          headerLength = 2;
        }
      }
    },
    atBoundary: () => seen === 0 && remaining === 0,
  };
}

/**
 * A close frame as a server sends it (unmasked): the status code and a short reason (at most
 * 123 bytes of UTF-8, as the control-frame limit of 125 leaves).
 */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, 123);
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x88;
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}
