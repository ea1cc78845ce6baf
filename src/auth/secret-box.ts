// Authenticated encryption of stored secrets (TOTP seeds) with AES-256-GCM. The owner's name is
// bound as additional data, so a blob copied to another user's entry does not decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readTextFile } from '../config/index.js';

const VERSION = 'v1';

export interface SecretBox {
  seal(plaintext: string, owner: string): string;
  /** Returns undefined when the blob is not genuine (wrong key, wrong owner, tampered). */
  open(blob: string, owner: string): string | undefined;
}

/** Creates a box from a 32-byte key. */
export function createSecretBox(key: Uint8Array): SecretBox {
  if (key.length !== 32) throw new TypeError('the secret encryption key must be 32 bytes (AES-256)');
  const k = Buffer.from(key);
  return {
    seal(plaintext, owner) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', k, iv);
      cipher.setAAD(Buffer.from(owner, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, iv.toString('base64url'), tag.toString('base64url'), body.toString('base64url')].join('.');
    },
    open(blob, owner) {
      const [version, iv, tag, body] = blob.split('.');
      if (version !== VERSION || iv === undefined || tag === undefined || body === undefined) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', k, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(owner, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        // GCM authentication failed: not our blob, or altered.
        return undefined;
      }
    },
  };
}

/**
 * Decodes a key given as base64 (or hex) text: 32 bytes are required. Used for keys from
 * configuration and from mounted secret files (whose trailing newline is ignored).
 */
export function decodeKey(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  const bytes = Buffer.from(t, 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

/** Reads a key file (base64 or hex text). */
export async function readKeyFile(path: string): Promise<Uint8Array> {
  const key = decodeKey(await readTextFile(path));
  if (!key) throw new TypeError(`${path}: expected a 32-byte key as base64 or hex text`);
  return key;
}
