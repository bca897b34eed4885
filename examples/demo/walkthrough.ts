/**
 * The README's demo walkthrough, as it is quoted there: run it against `pnpm start` with
 * `npx tsx examples/demo/walkthrough.ts` (DEMO_URL, default http://127.0.0.1:3000).
 * test/demo.test.ts checks the quote and runs this file against a demo of its own.
 */
// #region walkthrough
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const demo = process.env.DEMO_URL ?? 'http://127.0.0.1:3000';
const say = async (client: Client, name: string, args: Record<string, unknown> = {}) => {
  const result = await client.callTool({ name, arguments: args });
  console.log(name, (result.content as Array<{ text?: string }>)[0]?.text);
};

// Log in over HTTP: the demo answers a bearer token (HMAC-signed, valid for 15 minutes).
const login = await fetch(`${demo}/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'admin', password: 'admin-password' }),
});
const { access_token: token } = (await login.json()) as { access_token: string };

// Every request carries the token; the session is bound to the identity in it.
const admin = new Client({ name: 'walkthrough', version: '1.0.0' });
await admin.connect(
  new StreamableHTTPClientTransport(new URL(`${demo}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
);
await say(admin, 'set_session_data', { key: 'color', value: 'blue' }); // stored color
await say(admin, 'get_session_data', { key: 'color' }); // blue
await say(admin, 'whoami'); // {"authenticated":true,"sub":"admin","scopes":["admin"],…}
await say(admin, 'secure_operation', { action: 'deploy' }); // deploy done by admin

// A legacy client's basket is its session's: no id to keep.
await say(admin, 'add_to_basket', { item: 'apple' }); // 1 item in the basket
await say(admin, 'view_basket'); // ["apple"]

// A 2026-07-28 client: no initialize, no session. create_basket answers a basket_id (a state handle, bound
// to this token's user, kept 24 hours or 1 hour without use) that every later request names.
const modern = new Client({ name: 'walkthrough-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
await modern.connect(
  new StreamableHTTPClientTransport(new URL(`${demo}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
);
const created = await modern.callTool({ name: 'create_basket', arguments: {} });
const { basket_id: basketId } = JSON.parse((created.content as Array<{ text: string }>)[0]!.text) as { basket_id: string };
await say(modern, 'add_to_basket', { basket_id: basketId, item: 'pear' }); // 1 item in the basket
await say(modern, 'add_to_basket', { basket_id: basketId, item: 'plum' }); // 2 items in the basket
await say(modern, 'view_basket', { basket_id: basketId }); // ["pear","plum"]
await modern.close();

// Without a token: an anonymous session; the demo's other tools work, the privileged one does not.
const anonymous = new Client({ name: 'walkthrough-anonymous', version: '1.0.0' });
await anonymous.connect(new StreamableHTTPClientTransport(new URL(`${demo}/mcp`)));
await say(anonymous, 'secure_operation', { action: 'deploy' }); // refused: no bearer token (log in with POST /login)

// Both join; a broadcast reaches every other joined session as a logging notification.
const heard = new Promise((resolve) => anonymous.setNotificationHandler('notifications/message', (n) => resolve(n.params.data)));
await say(anonymous, 'join_coordination'); // joined
await say(admin, 'join_coordination');
await say(admin, 'broadcast_to_sessions', { message: 'hello' }); // broadcast sent
console.log('heard', await heard); // <short id of the admin's session>: hello
await admin.close();
await anonymous.close();
// #endregion walkthrough
