/** What the HTTP layer hands a lane, and what a lane serves. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Refusal } from '../http/refusal.js';
import type { JSONRPCMessage } from '../protocol/jsonrpc.js';
import type { AuthInfo } from '../types.js';

/** One HTTP request that passed the checks every request needs. */
export interface LaneRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly auth: AuthInfo | undefined;
  /** The client's network address (see `trustProxy`). */
  readonly address: string;
}

/** A POST whose body parsed into JSON-RPC messages. */
export interface PostRequest extends LaneRequest {
  readonly messages: JSONRPCMessage[];
  readonly batch: boolean;
}

/**
 * A way of serving legacy clients (with sessions, statelessly, or not at all). Each method answers
 * the request itself, or returns the refusal for the HTTP layer to write when it answered nothing.
 */
export interface Lane {
  /** The HTTP methods it serves, for `Allow` on a 405. */
  readonly allow: string;
  post(request: PostRequest): Promise<Refusal | undefined>;
  get(request: LaneRequest): Promise<Refusal | undefined>;
  delete(request: LaneRequest): Promise<Refusal | undefined>;
}
