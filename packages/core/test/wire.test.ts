/** Every wire format of the library as a format/parse pair: round trips, and malformed input refused. */
import { describe, expect, it } from 'vitest';
import type { RequestId } from '../src/protocol/jsonrpc.js';
import {
  CONTROL_TOPIC,
  STANDALONE_STREAM_ID,
  formatEventId,
  formatHolderId,
  formatInstanceId,
  formatOutgoingRequestId,
  formatPostStreamId,
  nodeTopic,
  parseEventId,
  parseHolderId,
  parseOutgoingRequestId,
  parsePostStreamId,
  parseTopic,
  sessionTopic,
} from '../src/protocol/wire.js';

/** Node ids as the options allow them (`/^[A-Za-z0-9_-]{1,64}$/`), made into instance ids. */
const INSTANCES = [
  formatInstanceId('web-1', 'a1b2c3'),
  formatInstanceId('x', '000000'),
  formatInstanceId('_', 'ffffff'),
  formatInstanceId('-', '0a0a0a'),
  formatInstanceId('N'.repeat(64), 'abcdef'),
];

describe('instance ids', () => {
  it('are the node id and the epoch, and never contain a character another format splits on', () => {
    expect(formatInstanceId('web-1', 'a1b2c3')).toBe('web-1-a1b2c3');
    for (const instanceId of INSTANCES) expect(instanceId).not.toMatch(/[~:.]/);
  });
});

describe('event ids', () => {
  it.each([
    [STANDALONE_STREAM_ID, 1],
    [STANDALONE_STREAM_ID, 0],
    ['web-1-a1b2c3~1~WzFd', 42],
    ['web-1-a1b2c3~z~', 7],
    ['a', 999_999_999_999_999],
  ])('%s at %i round-trips', (streamId, sequence) => {
    const eventId = formatEventId(streamId, sequence);
    expect(parseEventId(eventId)).toEqual({ streamId, sequence });
  });

  it('round-trip with every POST stream id the library makes', () => {
    for (const instanceId of INSTANCES) {
      for (const ids of [[1], ['a', 2], [], Array.from({ length: 200 }, (_, i) => `request-${i}`)] as RequestId[][]) {
        const streamId = formatPostStreamId(instanceId, 12, ids);
        expect(parseEventId(formatEventId(streamId, 3))).toEqual({ streamId, sequence: 3 });
      }
    }
  });

  it.each([
    ['no dot', 'standalone'],
    ['no stream id', '.5'],
    ['no sequence', 'standalone.'],
    ['a negative sequence', 'standalone.-1'],
    ['an exponent', 'standalone.1e3'],
    ['a fraction', 'standalone.1.5x'],
    ['hex', 'standalone.0x10'],
    ['whitespace', 'standalone. 7'],
    ['trailing junk', 'standalone.7a'],
    ['16 digits', 'standalone.1234567890123456'],
    ['the empty string', ''],
  ])('refuses %s', (_label, eventId) => {
    expect(parseEventId(eventId)).toBeUndefined();
  });
});

describe('POST stream ids', () => {
  it('carry the instance and string and number request ids', () => {
    for (const instanceId of INSTANCES) {
      const requestIds: RequestId[] = ['a', 2, 'ü~:.', 0, -1, 1.5, ''];
      expect(parsePostStreamId(formatPostStreamId(instanceId, 1, requestIds))).toEqual({ instanceId, requestIds });
    }
  });

  it('differ by sequence for the same instance and requests', () => {
    const ids = new Set(Array.from({ length: 100 }, (_, i) => formatPostStreamId('web-1-a1b2c3', i, [1])));
    expect(ids.size).toBe(100);
  });

  it('contain no dot (event ids split on the last one) and are not the standalone id', () => {
    const streamId = formatPostStreamId('web-1-a1b2c3', 1_000_000, ['~~~', '...', ':::', 'ÿ'.repeat(30)]);
    expect(streamId).not.toContain('.');
    expect(streamId).not.toBe(STANDALONE_STREAM_ID);
  });

  it('leave out a long id list, staying short, and still name the instance', () => {
    const requestIds = Array.from({ length: 100 }, (_, i) => `tool-call-${i}`);
    const streamId = formatPostStreamId('web-1-a1b2c3', 5, requestIds);
    expect(streamId.length).toBeLessThan(300);
    expect(parsePostStreamId(streamId)).toEqual({ instanceId: 'web-1-a1b2c3', requestIds: undefined });
  });

  it('carry a list that fits, and leave out one just past the limit', () => {
    // Encoded, the ids may take 256 base64url characters: 192 bytes of JSON.
    const fits = ['a'.repeat(188)];
    const tooLong = ['a'.repeat(189)];
    expect(parsePostStreamId(formatPostStreamId('i-1', 1, fits))?.requestIds).toEqual(fits);
    expect(parsePostStreamId(formatPostStreamId('i-1', 1, tooLong))?.requestIds).toBeUndefined();
  });

  it('the standalone stream id is not one', () => {
    expect(parsePostStreamId(STANDALONE_STREAM_ID)).toBeUndefined();
  });

  it.each([
    ['no instance', '~1~WzFd'],
    ['too many parts', 'i-1~1~WzFd~x'],
    ['the empty string', ''],
    ['an empty sequence', 'i-1~~W10'],
    ['no sequence', 'i-1~'],
    ['a sequence outside base 36', 'i-1~1.5~WzFd'],
  ])('refuses a foreign id with %s', (_label, streamId) => {
    expect(parsePostStreamId(streamId)).toBeUndefined();
  });

  it('names the instance but no request ids when the encoded part is not a list of ids', () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const encoded of ['!!not-base64!!', encode({ id: 1 }), encode([true]), encode([{ id: 1 }]), encode([null]), encode('abc')]) {
      expect(parsePostStreamId(`i-1~1~${encoded}`)).toEqual({ instanceId: 'i-1', requestIds: undefined });
    }
    expect(parsePostStreamId('i-1~1')).toEqual({ instanceId: 'i-1', requestIds: undefined });
  });
});

describe('outgoing request ids', () => {
  it('name the instance whose server sent the request', () => {
    for (const instanceId of INSTANCES) {
      const id = formatOutgoingRequestId(instanceId, 17);
      expect(parseOutgoingRequestId(id)).toEqual({ instanceId });
    }
  });

  it('differ by sequence', () => {
    expect(formatOutgoingRequestId('i-1', 1)).not.toBe(formatOutgoingRequestId('i-1', 2));
  });

  it.each([
    ['a number (a client id)', 17],
    ['a string without a tilde', 'abc'],
    ['no instance', '~17'],
    ['the empty string', ''],
  ])('refuses %s', (_label, id) => {
    expect(parseOutgoingRequestId(id)).toBeUndefined();
  });
});

describe('holder ids', () => {
  it('round-trip the instance and the sequence', () => {
    for (const instanceId of INSTANCES) {
      expect(parseHolderId(formatHolderId(instanceId, 0))).toEqual({ instanceId, sequence: 0 });
      expect(parseHolderId(formatHolderId(instanceId, 123_456))).toEqual({ instanceId, sequence: 123_456 });
    }
  });

  it.each([
    ['no colon', 'i-1'],
    ['no instance', ':3'],
    ['a non-number', 'i-1:x'],
    ['a fraction', 'i-1:1.5'],
    ['an unsafe integer', 'i-1:9007199254740993'],
    ['no sequence', 'i-1:'],
    ['a space', 'i-1: 3'],
    ['hex', 'i-1:0x10'],
    ['a negative number', 'i-1:-1'],
    ['an exponent', 'i-1:1e3'],
  ])('refuses %s', (_label, holder) => {
    expect(parseHolderId(holder)).toBeUndefined();
  });
});

describe('topics', () => {
  it('round-trip the control topic, session topics and node topics', () => {
    expect(parseTopic(CONTROL_TOPIC)).toEqual({ kind: 'control' });
    for (const sessionId of ['AbCdEfGhIjKlMnOpQrStUv', 'with:colon', 'x']) {
      expect(parseTopic(sessionTopic(sessionId))).toEqual({ kind: 'session', sessionId });
    }
    for (const instanceId of INSTANCES) expect(parseTopic(nodeTopic(instanceId))).toEqual({ kind: 'node', instanceId });
  });

  it('keep sessions, nodes and the control topic apart', () => {
    const topics = new Set([CONTROL_TOPIC, sessionTopic('control'), nodeTopic('control'), sessionTopic('a'), nodeTopic('a')]);
    expect(topics.size).toBe(5);
  });

  it.each([['mcp:other'], ['mcp:controlx'], ['session:abc'], [''], ['mcp:session:'], ['mcp:node:']])('refuses %s', (topic) => {
    expect(parseTopic(topic)).toBeUndefined();
  });
});
