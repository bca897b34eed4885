import { createCipheriv, createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';
import { McpSessionError } from './errors.js';

/** A 256-bit key for sealing state at rest; `key` is 32 bytes, or their base64 encoding. */
export interface EncryptionKey {
  id: string;
  key: string | Uint8Array;
}

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The bytes of `text` if it is the canonical base64url of `length` bytes (any length without one). */
function canonicalBase64url(text: string | undefined, length?: number): Buffer | undefined {
  if (text === undefined) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text && (length === undefined || bytes.length === length) ? bytes : undefined;
}

/** Random bytes fetched from the CSPRNG at once, each handed out once (as `randomUUID` does). */
const ENTROPY_POOL_BYTES = 4096;
let entropy = Buffer.alloc(0);
let entropyOffset = 0;

/**
 * A random id of `bytes` bytes from the CSPRNG, base64url-encoded. Bytes come from a pool refilled
 * 4 KiB at a time: one system call per 256 session ids instead of one each.
 */
export function randomId(bytes: number): string {
  if (entropyOffset + bytes > entropy.length) {
    entropy = randomFillSync(Buffer.allocUnsafe(Math.max(ENTROPY_POOL_BYTES, bytes)));
    entropyOffset = 0;
  }
  const id = entropy.toString('base64url', entropyOffset, entropyOffset + bytes);
  entropyOffset += bytes;
  return id;
}

/**
 * Checks and decodes `[{ id, key }]` keys (of the option named `option`): ids of 1-32 of
 * `[A-Za-z0-9_-]`, distinct, each key 32 bytes (or their base64). The first key is the one that
 * signs or seals; every listed key verifies or opens.
 */
export function decodeKeys(option: string, keys: readonly EncryptionKey[]): Map<string, Buffer> {
  if (keys.length === 0) throw new McpSessionError('ERR_MCP_SESSION_INVALID_OPTIONS', `${option}: give at least one key`);
  const decoded = new Map<string, Buffer>();
  for (const { id, key } of keys) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
      throw new McpSessionError('ERR_MCP_SESSION_INVALID_OPTIONS', `${option}: key id "${id}" must be 1-32 of [A-Za-z0-9_-]`);
    }
    if (decoded.has(id)) throw new McpSessionError('ERR_MCP_SESSION_INVALID_OPTIONS', `${option}: key id "${id}" is listed twice`);
    const bytes = typeof key === 'string' ? Buffer.from(key, 'base64') : Buffer.from(key);
    if (bytes.length !== 32) {
      throw new McpSessionError('ERR_MCP_SESSION_INVALID_OPTIONS', `${option}: key "${id}" must be 32 bytes (base64 of 32 bytes)`);
    }
    decoded.set(id, bytes);
  }
  return decoded;
}

/**
 * Seals what the stores keep (state values, events, cache entries, the stored `initialize`, bus
 * messages) with AES-256-GCM. The first key encrypts; every listed key decrypts, so keys rotate by
 * putting the new one first. A context (session and state key, say) is bound in as associated data: a
 * sealed value copied to another session, key or stream does not open.
 */
export class Sealer {
  readonly #keys: Map<string, Buffer>;
  readonly #current: string;

  constructor(keys: readonly EncryptionKey[]) {
    this.#keys = decodeKeys('encryptionKeys', keys);
    this.#current = keys[0]!.id;
  }

  /** Whether a stored value is one `seal` made (of any key). */
  static isSealed(stored: string): boolean {
    return stored.startsWith(PREFIX);
  }

  seal(plain: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#current)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${this.#current}:${iv.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}:${body.toString('base64url')}`;
  }

  /**
   * Opens a sealed value. A value that is not sealed is refused (`ERR_MCP_SESSION_SEALED`): once keys
   * are set, whoever can write the store cannot slip in a plain value; `acceptUnsealed` lets one
   * through (reading data written before keys were set).
   */
  open(stored: string, context: string, acceptUnsealed = false): string {
    if (!Sealer.isSealed(stored)) {
      if (acceptUnsealed) return stored;
      throw new McpSessionError('ERR_MCP_SESSION_SEALED', 'a stored value is not sealed, and encryptionKeys are set (see acceptUnsealed)');
    }
    const parts = stored.slice(PREFIX.length).split(':');
    const [keyId, iv, tag, body] = parts;
    const key = keyId === undefined ? undefined : this.#keys.get(keyId);
    if (key === undefined) {
      throw new McpSessionError('ERR_MCP_SESSION_SEALED', `a stored value is sealed with key "${keyId}", which is not in encryptionKeys`);
    }
    // Exactly what `seal` writes: four parts, canonical base64url, a 16-byte tag. Node's decoder
    // ignores stray bits and GCM accepts a tag cut short, so a changed text could open otherwise.
    const ivBytes = canonicalBase64url(iv, IV_BYTES);
    const tagBytes = canonicalBase64url(tag, TAG_BYTES);
    const bodyBytes = canonicalBase64url(body);
    if (parts.length !== 4 || ivBytes === undefined || tagBytes === undefined || bodyBytes === undefined) {
      throw new McpSessionError('ERR_MCP_SESSION_SEALED', 'a stored value is not in the sealed format (changed after it was sealed)');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(tagBytes);
      return Buffer.concat([decipher.update(bodyBytes), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new McpSessionError(
        'ERR_MCP_SESSION_SEALED',
        'a stored value failed authentication (tampered, or moved from where it was sealed)',
        {
          cause: error,
        },
      );
    }
  }
}
