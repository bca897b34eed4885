/** The end of a response, as the lanes that outlive a request's arrival need to hear it. */
import type { ServerResponse } from 'node:http';

/**
 * Calls `callback` once the response closes, whoever closes it. A response whose client left while
 * the request waited (for the server to be built, say) closed already and emits no 'close' any more:
 * then `callback` runs at once.
 */
export function onResponseClose(res: ServerResponse, callback: () => void): void {
  if (res.destroyed) callback();
  else res.once('close', callback);
}
