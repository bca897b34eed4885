/**
 * `subscriptions/listen` across processes: two endpoints sharing their stores and message bus act as
 * two processes; a change raised on one reaches the listen streams held by the other, stamped with
 * each stream's subscription id, filtered by what each opted into.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createChangeServer } from '../fixtures/change-server.js';
import { type AdapterHarness, type RunningApp, sharedStoresOf } from '../harness.js';
import { type ListenMessage, type ListenStream, MODERN_VERSION, SUBSCRIPTION_ID, openListen, subscriptionIdOf, within } from '../listen.js';

/** Resolves once `check` holds; fails after `timeoutMs` naming `what`. */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const listenStreamsOf = async (app: RunningApp) => (await app.endpoint.metrics()).listenStreams;

/** A change notification as a listen stream delivers it. */
function change(method: string, id: string | number, params: Record<string, unknown> = {}): ListenMessage {
  return { jsonrpc: '2.0', method, params: { ...params, _meta: { [SUBSCRIPTION_ID]: id } } };
}

/** Reads the acknowledgement, which must come first, and returns the filter it honoured. */
async function acknowledged(stream: ListenStream): Promise<unknown> {
  const ack = await stream.next();
  expect(ack.method).toBe('notifications/subscriptions/acknowledged');
  expect(subscriptionIdOf(ack)).toBe(stream.id);
  return ack.params?.notifications;
}

export function listenSuite(harness: AdapterHarness): void {
  describe('subscriptions/listen across two nodes', () => {
    const apps: RunningApp[] = [];
    const streams: ListenStream[] = [];
    const clients: Client[] = [];
    afterEach(async () => {
      for (const stream of streams.splice(0)) stream.close();
      for (const client of clients.splice(0)) await client.close().catch(() => undefined);
      for (const app of apps.splice(0)) await app.close();
    });

    async function twoNodes(): Promise<{ a: RunningApp; b: RunningApp }> {
      const shared = { ...(await sharedStoresOf(harness)), server: createChangeServer };
      const a = await harness.start({ ...shared, nodeId: 'A' });
      const b = await harness.start({ ...shared, nodeId: 'B' });
      apps.push(a, b);
      return { a, b };
    }

    async function listen(app: RunningApp, id: string | number, filter: Parameters<typeof openListen>[2]): Promise<ListenStream> {
      const stream = await openListen(app.url, id, filter);
      streams.push(stream);
      return stream;
    }

    /** An SDK v2 client pinned to 2026-07-28: no initialize, no session. */
    async function modernClient(app: RunningApp): Promise<Client> {
      const client = new Client({ name: 'listen-suite', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN_VERSION } } });
      await client.connect(new StreamableHTTPClientTransport(new URL(app.url)));
      clients.push(client);
      return client;
    }

    it('a stream on A hears a tools list change raised on B, after its acknowledgement, with its subscription id, once; nothing it did not opt into', async () => {
      const { a, b } = await twoNodes();
      const stream = await listen(a, 'on-a', { toolsListChanged: true, resourceSubscriptions: ['test://marker'] });
      expect(await acknowledged(stream)).toEqual({ toolsListChanged: true, resourceSubscriptions: ['test://marker'] });
      expect(await listenStreamsOf(a)).toBe(1);
      expect(await listenStreamsOf(b)).toBe(0);
      const marker = change('notifications/resources/updated', 'on-a', { uri: 'test://marker' });
      // Raised in this order on one node, so they arrive in this order: what the stream did not opt
      // into is skipped, and the marker after the change shows the change came once.
      b.endpoint.notify.promptsChanged();
      b.endpoint.notify.resourcesChanged();
      b.endpoint.notify.resourceUpdated('test://not-subscribed');
      b.endpoint.notify.toolsChanged();
      b.endpoint.notify.resourceUpdated('test://marker');
      expect(await stream.next()).toEqual(change('notifications/tools/list_changed', 'on-a'));
      expect(await stream.next()).toEqual(marker);
      // A change raised on A itself goes through the bus too: it reaches the stream once.
      a.endpoint.notify.toolsChanged();
      a.endpoint.notify.resourceUpdated('test://marker');
      expect(await stream.next()).toEqual(change('notifications/tools/list_changed', 'on-a'));
      expect(await stream.next()).toEqual(marker);
    });

    it("a tool on B raising a change through context.notify, and B's server adding a tool, reach an SDK client listening on A", async () => {
      const { a, b } = await twoNodes();
      const listener = await modernClient(a);
      const heard: unknown[] = [];
      let arrived: () => void = () => undefined;
      listener.setNotificationHandler('notifications/tools/list_changed', (notification) => {
        heard.push(notification.params?._meta?.[SUBSCRIPTION_ID]);
        arrived();
      });
      const next = () => new Promise<void>((resolve) => (arrived = resolve));
      const subscription = await listener.listen({ toolsListChanged: true });
      expect(subscription.honoredFilter).toEqual({ toolsListChanged: true });
      expect(await listenStreamsOf(a)).toBe(1);

      const caller = await modernClient(b);
      let heardOne = next();
      expect(await caller.callTool({ name: 'raise_change', arguments: { change: 'tools' } })).toMatchObject({
        content: [{ type: 'text', text: 'raised tools' }],
      });
      await within(heardOne, 'the change raised by raise_change on B');
      heardOne = next();
      expect(await caller.callTool({ name: 'add_tool', arguments: { name: 'added_on_b' } })).toMatchObject({
        content: [{ type: 'text', text: 'added added_on_b' }],
      });
      await within(heardOne, 'the change B’s server sent when add_tool added a tool');
      expect(heard).toHaveLength(2);
      expect(heard.every((id) => typeof id === 'string' && id === heard[0])).toBe(true);

      await subscription.close();
      expect(await subscription.closed).toBe('local');
      await eventually(async () => (await listenStreamsOf(a)) === 0, 'A holds no listen stream');
    });

    it('a resource update reaches only the streams subscribed to its URI, on either node', async () => {
      const { a, b } = await twoNodes();
      const first = await listen(a, 1, { resourceSubscriptions: ['test://first'] });
      const second = await listen(b, 2, { resourceSubscriptions: ['test://second'] });
      const both = await listen(a, 3, { resourceSubscriptions: ['test://first', 'test://second'], toolsListChanged: true });
      expect(await acknowledged(first)).toEqual({ resourceSubscriptions: ['test://first'] });
      expect(await acknowledged(second)).toEqual({ resourceSubscriptions: ['test://second'] });
      expect(await acknowledged(both)).toEqual({ resourceSubscriptions: ['test://first', 'test://second'], toolsListChanged: true });
      const updated = (uri: string, id: number) => change('notifications/resources/updated', id, { uri });

      b.endpoint.notify.resourceUpdated('test://second');
      b.endpoint.notify.resourceUpdated('test://first');
      b.endpoint.notify.resourceUpdated('test://first/child');
      b.endpoint.notify.toolsChanged();
      b.endpoint.notify.resourceUpdated('test://second');
      b.endpoint.notify.resourceUpdated('test://first');

      expect(await first.next()).toEqual(updated('test://first', 1));
      expect(await first.next()).toEqual(updated('test://first', 1));
      expect(await second.next()).toEqual(updated('test://second', 2));
      expect(await second.next()).toEqual(updated('test://second', 2));
      expect(await both.next()).toEqual(updated('test://second', 3));
      expect(await both.next()).toEqual(updated('test://first', 3));
      expect(await both.next()).toEqual(change('notifications/tools/list_changed', 3));
      expect(await both.next()).toEqual(updated('test://second', 3));
      expect(await both.next()).toEqual(updated('test://first', 3));
    });

    it('closing a stream frees it: the gauge goes back down, and later changes reach the streams still open', async () => {
      const { a, b } = await twoNodes();
      const leaving = await listen(a, 'leaving', { toolsListChanged: true });
      const staying = await listen(a, 'staying', { toolsListChanged: true });
      await acknowledged(leaving);
      await acknowledged(staying);
      expect(await listenStreamsOf(a)).toBe(2);
      leaving.close();
      await leaving.ended;
      await eventually(async () => (await listenStreamsOf(a)) === 1, 'A holds one listen stream');
      b.endpoint.notify.toolsChanged();
      expect(await staying.next()).toEqual(change('notifications/tools/list_changed', 'staying'));
      staying.close();
      await eventually(async () => (await listenStreamsOf(a)) === 0, 'A holds no listen stream');
    });

    it('a stream with nothing the server offers is acknowledged with an empty filter and ended with its result at once', async () => {
      const { a } = await twoNodes();
      const stream = await listen(a, 'nothing', { toolsListChanged: false });
      expect(await acknowledged(stream)).toEqual({});
      const result = await stream.next();
      expect(result).toMatchObject({ jsonrpc: '2.0', id: 'nothing', result: { resultType: 'complete' } });
      expect(subscriptionIdOf(result)).toBe('nothing');
      await stream.ended;
      expect(await listenStreamsOf(a)).toBe(0);
    });

    it('closing node A ends its streams with their result; B keeps serving its own', async () => {
      const { a, b } = await twoNodes();
      const onA = await listen(a, 'closing', { toolsListChanged: true });
      const onB = await listen(b, 'staying', { toolsListChanged: true });
      await acknowledged(onA);
      await acknowledged(onB);
      await a.endpoint.close();
      const result = await onA.next();
      expect(result).toMatchObject({ jsonrpc: '2.0', id: 'closing', result: { resultType: 'complete' } });
      expect(subscriptionIdOf(result)).toBe('closing');
      await onA.ended;
      expect(await listenStreamsOf(a)).toBe(0);
      b.endpoint.notify.toolsChanged();
      expect(await onB.next()).toEqual(change('notifications/tools/list_changed', 'staying'));
    });
  });
}
