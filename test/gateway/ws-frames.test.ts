// The frame tracker that tells where an upstream's WebSocket frames end (so iamgate's close frame
// never lands inside one), against frames of every length form, masked and not, split anywhere.
import { describe, expect, it } from 'vitest';
import { closeFrame, createFrameTracker } from '../../src/gateway/ws-frames.js';

/** One frame as RFC 6455 §5.2 lays it out (written here independently of the tracker). */
function frame(payloadLength: number, masked: boolean, opcode = 0x2): Buffer {
  const head: number[] = [0x80 | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (payloadLength < 126) head.push(maskBit | payloadLength);
  else if (payloadLength < 65536) head.push(maskBit | 126, payloadLength >> 8, payloadLength & 0xff);
  else {
    head.push(maskBit | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(payloadLength));
    head.push(...big);
  }
  if (masked) head.push(1, 2, 3, 4);
  // Payload bytes that look like frame headers, so a tracker that reads payload as header fails.
  return Buffer.concat([Buffer.from(head), Buffer.alloc(payloadLength, 0xfe)]);
}

const LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 70_000];

/** Every frame end in a stream of frames (byte offsets just after each frame). */
function stream(): { bytes: Buffer; ends: Set<number> } {
  const parts: Buffer[] = [];
  const ends = new Set<number>([0]);
  let at = 0;
  for (const length of LENGTHS) {
    for (const masked of [false, true]) {
      const f = frame(length, masked);
      parts.push(f);
      at += f.length;
      ends.add(at);
    }
  }
  return { bytes: Buffer.concat(parts), ends };
}

/** A small deterministic generator, so a failing split can be replayed. */
function splitter(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x;
  };
}

describe('the WebSocket frame tracker', () => {
  it('is on a boundary exactly where a frame ends, with the stream fed byte by byte through every header', () => {
    const { bytes, ends } = stream();
    const tracker = createFrameTracker();
    // Byte by byte through the headers and small frames; whole for the long payloads (same code path).
    let i = 0;
    while (i < bytes.length) {
      expect(tracker.atBoundary(), `offset ${i}`).toBe(ends.has(i));
      tracker.feed(bytes.subarray(i, i + 1));
      i += 1;
      if (i > 200 && !ends.has(i)) {
        // Jump to one byte before the next frame end, then continue byte by byte.
        const next = Math.min(...[...ends].filter((e) => e > i));
        if (next - 1 > i) {
          tracker.feed(bytes.subarray(i, next - 1));
          expect(tracker.atBoundary()).toBe(false);
          i = next - 1;
        }
      }
    }
    expect(tracker.atBoundary()).toBe(true);
  });

  it('agrees with the frame ends whatever the chunk sizes', () => {
    const { bytes, ends } = stream();
    for (let seed = 1; seed <= 50; seed++) {
      const next = splitter(seed);
      const tracker = createFrameTracker();
      let i = 0;
      while (i < bytes.length) {
        const n = 1 + (next() % 3000);
        tracker.feed(bytes.subarray(i, i + n));
        i = Math.min(bytes.length, i + n);
        expect(tracker.atBoundary(), `seed ${seed}, offset ${i}`).toBe(ends.has(i));
      }
    }
  });

  it('is not on a boundary in the middle of a header', () => {
    const tracker = createFrameTracker();
    tracker.feed(frame(300, true).subarray(0, 3));
    expect(tracker.atBoundary()).toBe(false);
  });
});

describe('the close frame', () => {
  it('carries the status code and the reason, unmasked, as a final close frame', () => {
    const f = closeFrame(1008, 'token_expired');
    expect(f[0]).toBe(0x88);
    expect(f[1]).toBe(2 + 'token_expired'.length);
    expect(f.readUInt16BE(2)).toBe(1008);
    expect(f.subarray(4).toString('utf8')).toBe('token_expired');
    const tracker = createFrameTracker();
    tracker.feed(f);
    expect(tracker.atBoundary()).toBe(true);
  });
});
