/** Reading a JSON body of bounded size from the request stream, as a result object. */
import type { IncomingMessage } from 'node:http';
import { JsonRpcErrorCode } from '../errors.js';
import { type Checked, type Refusal, refusal } from './refusal.js';

export type BodyResult = Checked<{ value: unknown }>;

const unreadable = (message: string): Refusal => refusal(400, JsonRpcErrorCode.ParseError, message);
const notJson = (): Refusal => unreadable('Parse error: the body is not valid JSON');
const tooLarge = (limit: number): Refusal =>
  refusal(413, JsonRpcErrorCode.ServerError, `Payload Too Large: the body exceeds ${limit} bytes`);

function parseBody(text: string): BodyResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return notJson();
  }
}

const tooSlow = (timeoutMs: number): Refusal =>
  refusal(408, JsonRpcErrorCode.ServerError, `Request Timeout: the body did not arrive within ${timeoutMs} ms`, {
    // The rest of the body may still be on its way: the connection goes with the answer.
    headers: { connection: 'close' },
  });

/** Reads and parses a JSON body of at most `limit` bytes, arriving within `timeoutMs`. */
export function readJsonBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<BodyResult> {
  if (req.readableEnded) {
    // Something before the endpoint consumed the stream without handing over a parsed body.
    return Promise.resolve(unreadable('Parse error: the request body was read before the MCP endpoint and no parsed body was passed on'));
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve(tooLarge(limit));
  }
  if (req.complete && req.readableFlowing !== true && req.readableLength <= limit) {
    // The whole body is already buffered (it came with the headers): take it without listeners.
    const data = req.read() as Buffer | string | null;
    return Promise.resolve(parseBody(data === null ? '' : data.toString()));
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        finish(tooLarge(limit));
        // The rest is read and dropped, so the connection can answer.
        req.resume();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(parseBody(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    const onError = () => finish(unreadable('Parse error: the body could not be read'));
    const timer = setTimeout(() => finish(tooSlow(timeoutMs)), timeoutMs);
    timer.unref();
    // Listeners go as soon as the body is read: left on the request, their closures would keep the
    // body and its parsed message alive as long as the request.
    const finish = (result: BodyResult) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.on('error', ignoreError);
      resolve(result);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** A request's late error (the client went away after its body was read) needs a listener, and no more. */
function ignoreError(): void {}
