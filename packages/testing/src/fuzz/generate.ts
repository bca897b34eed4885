/**
 * Generates the fuzz requests from a seed: methods, session ids, headers and bodies, each with the
 * facts the oracle judges it by. Generation depends only on the seed and the sessions it is given, so
 * a seed names the same requests on every run (their order of arrival varies with concurrency).
 *
 * A request id is used at most once per session, across all requests (SPEC rule 20: a client never
 * reuses one), except on purpose inside one batch (the duplicate-id case).
 */
import { type BodyFacts, type Facts, type SessionKind, idKey } from './oracle.js';
import { ACCEPT_BOTH } from '../raw.js';
import { type J, JObj, JRaw, Prng, clone, serialize, tree } from './json.js';

export const SUPPORTED_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;

export interface FuzzSession {
  id: string;
  version: string;
}

export interface FuzzContext {
  /** Sessions that must outlive the run: no generated request may end them. */
  keepers: FuzzSession[];
  /** Sessions a generated DELETE may end. */
  victims: FuzzSession[];
  /** The app's port, for same-origin and localhost Origins. */
  port: number;
  maxBodyBytes: number;
}

export interface FuzzCase {
  index: number;
  method: string;
  /** The session, headers and method, for the report. */
  context: string;
  /** The body's shape (or the method's), for grouping failures. */
  shape: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  facts: Facts;
  /** A GET that resumes with an event id harvested at run time from a keeper's SSE answers. */
  harvestFrom?: { keeper: number; own: boolean };
  /** The keeper or victim named in Mcp-Session-Id. */
  session?: FuzzSession;
}

interface Body {
  tree: J;
  shape: string;
}

interface PickedSession {
  kind: SessionKind;
  /** A keeper or a victim. */
  session?: FuzzSession;
  /** The Mcp-Session-Id of an unknown or malformed session. */
  value?: string;
}

const TAG = 'io.modelcontextprotocol/related-task';

/** Strings that tend to break things: empty, control characters, astral plane, lone surrogates, long. */
const ODD_STRINGS = [
  '',
  ' ',
  'héllo ✓',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🚀',
  '\u0000',
  '\ud800',
  'line\nbreak',
  '"quoted"',
  '\\',
  '\u202e\u200b',
  'x'.repeat(3000),
];

export class FuzzGenerator {
  readonly #prng: Prng;
  readonly #context: FuzzContext;
  readonly #used = new Map<string, Set<string>>();
  #nextId = 100;

  constructor(seed: number, context: FuzzContext) {
    this.#prng = new Prng(seed);
    this.#context = context;
    for (const session of [...context.keepers, ...context.victims]) this.#used.set(session.id, new Set([idKey(1)]));
  }

  cases(count: number): FuzzCase[] {
    return Array.from({ length: count }, (_, index) => this.#case(index));
  }

  #case(index: number): FuzzCase {
    const r = this.#prng;
    const method = r.weighted<string>([
      [80, 'POST'],
      [9, 'GET'],
      [7, 'DELETE'],
      [4, r.pick(['PUT', 'PATCH', 'OPTIONS'])],
    ]);
    if (method === 'POST') return this.#post(index);
    if (method === 'GET') return this.#get(index);
    if (method === 'DELETE') return this.#delete(index);
    return this.#other(index, method);
  }

  // ---- sessions and headers ---------------------------------------------------------------------------

  /** A keeper, at 2025-03-26 with probability `batching` (batches are allowed there only). */
  #pickKeeper(batching: number): PickedSession {
    const r = this.#prng;
    const wanted = r.chance(batching) ? this.#context.keepers.filter((keeper) => keeper.version === '2025-03-26') : [];
    return { kind: 'keeper', session: r.pick(wanted.length > 0 ? wanted : this.#context.keepers) };
  }

  #pickSession(weights: Partial<Record<SessionKind, number>>): PickedSession {
    const r = this.#prng;
    const kind = r.weighted(Object.entries(weights).map(([name, weight]) => [weight!, name as SessionKind] as const));
    if (kind === 'keeper') return { kind, session: r.pick(this.#context.keepers) };
    if (kind === 'victim') return { kind, session: r.pick(this.#context.victims) };
    if (kind === 'unknown') {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const length = r.pick([22, 32, 43]);
      return { kind, value: Array.from({ length }, () => alphabet[r.int(0, alphabet.length - 1)]).join('') };
    }
    if (kind === 'malformed') {
      const keeper = r.pick(this.#context.keepers).id;
      return {
        kind,
        value: r.pick([
          // Not ' x ': HTTP trims the whitespace around a header value.
          '',
          'a b',
          '"quoted"',
          '../../etc/passwd',
          '%00',
          'é',
          keeper.slice(0, -1),
          `${keeper},${keeper}`,
          `${keeper}x`,
          'x'.repeat(2000),
        ]),
      };
    }
    return { kind };
  }

  /**
   * Mcp-Session-Id, MCP-Protocol-Version, Origin, Accept and junk headers, with tags that describe what
   * is unusual. `clean`: the session's own version and the usual Accept, nothing else.
   */
  #commonHeaders(
    method: string,
    session: PickedSession,
    headers: Record<string, string>,
    facts: Facts,
    tags: string[],
    clean = false,
  ): void {
    const r = this.#prng;
    const { port } = this.#context;
    if (session.session !== undefined) headers['mcp-session-id'] = session.session.id;
    else if (session.value !== undefined) headers['mcp-session-id'] = session.value;
    tags.push(
      session.kind === 'keeper' || session.kind === 'victim' ? `${session.kind} ${session.session!.version}` : `${session.kind} session`,
    );
    if (clean) {
      if (session.session !== undefined) {
        headers['mcp-protocol-version'] = session.session.version;
        facts.versionHeader = 'match';
      }
      if (method === 'POST') headers.accept = ACCEPT_BOTH;
      if (method === 'GET') headers.accept = 'text/event-stream';
      return;
    }

    // MCP-Protocol-Version.
    const negotiated = session.session?.version;
    const version = r.weighted<Facts['versionHeader']>([
      [negotiated === undefined ? 0 : 62, 'match'],
      [negotiated === undefined ? 50 : 15, 'absent'],
      [negotiated === undefined ? 30 : 10, 'other'],
      [9, 'unsupported'],
      [4, 'future'],
    ]);
    facts.versionHeader = version;
    if (version === 'match') headers['mcp-protocol-version'] = negotiated!;
    if (version === 'other') headers['mcp-protocol-version'] = r.pick(SUPPORTED_VERSIONS.filter((each) => each !== negotiated));
    if (version === 'unsupported')
      headers['mcp-protocol-version'] = r.pick(['1999-01-01', 'banana', '', '2025-11-25, 2025-11-25', 'v2025-11-25', '2025-13-45']);
    if (version === 'future') headers['mcp-protocol-version'] = '2026-07-28';
    if (version !== 'match' && version !== 'absent') tags.push(`version ${JSON.stringify(headers['mcp-protocol-version'])}`);
    if (version === 'absent' && negotiated !== undefined) tags.push('no version header');
    if (version === 'other' && negotiated === undefined) facts.versionHeader = 'match';

    // Origin.
    const origin = r.weighted<[Facts['origin'], string | undefined]>([
      [84, ['absent', undefined]],
      [3, ['allowed', `http://127.0.0.1:${port}`]],
      [3, ['allowed', `http://localhost:${port}`]],
      [10, ['foreign', r.pick(['https://evil.example', 'null', 'http://127.0.0.1.evil.example', `http://evil.example:${port}`])]],
    ]);
    facts.origin = origin[0];
    if (origin[1] !== undefined) {
      headers.origin = origin[1];
      tags.push(`Origin ${origin[1]}`);
    }

    // Accept.
    const accepts: Array<readonly [number, readonly [Facts['accept'], string | undefined]]> =
      method === 'GET'
        ? [
            [70, ['ok', 'text/event-stream']],
            [8, ['ok', ACCEPT_BOTH]],
            [8, ['bad', r.pick(['application/json', 'text/html', ''])]],
            // fetch sends `*/*` when the request names no Accept.
            [6, ['odd', r.pick([undefined, '*/*', 'TEXT/EVENT-STREAM', 'text/*'])]],
          ]
        : [
            [80, ['ok', r.pick([ACCEPT_BOTH, 'text/event-stream, application/json', 'application/json,text/event-stream'])]],
            [9, ['bad', r.pick(['application/json', 'text/event-stream', 'text/html', ''])]],
            [6, ['odd', r.pick([undefined, '*/*', 'APPLICATION/JSON, TEXT/EVENT-STREAM', 'application/*, text/*', `${ACCEPT_BOTH};q=0`])]],
          ];
    const [acceptKind, accept] = r.weighted(accepts);
    facts.accept = method === 'DELETE' ? (acceptKind === 'ok' ? 'ok' : 'odd') : acceptKind;
    if (method === 'DELETE' && r.chance(0.8)) {
      facts.accept = 'ok';
    } else if (accept !== undefined) {
      headers.accept = accept;
      if (acceptKind !== 'ok') tags.push(`Accept ${JSON.stringify(accept)}`);
    } else {
      tags.push('no Accept');
    }

    // Junk that must change nothing.
    if (r.chance(0.1)) {
      headers[r.pick(['x-fuzz', 'mcp-fuzz', 'x-forwarded-for'])] = r.pick(['1', 'é', '<script>', '127.0.0.1, 10.0.0.1']);
      tags.push('junk header');
    }
  }

  #baseFacts(method: string, session: SessionKind, version: string | undefined): Facts {
    return {
      method,
      origin: 'absent',
      accept: 'ok',
      contentType: 'ok',
      session,
      sessionVersion: version,
      versionHeader: 'absent',
      lastEventId: 'absent',
      oversized: false,
      body: undefined,
    };
  }

  // ---- methods ----------------------------------------------------------------------------------------

  #post(index: number): FuzzCase {
    const r = this.#prng;
    const kind = r.weighted<string>([
      [4, 'initialize'],
      [24, 'valid'],
      [8, 'quiet'],
      [12, 'rejected'],
      [24, 'mutated'],
      [15, 'batch'],
      [5, 'random'],
      [8, 'invalid'],
      [2, 'oversized'],
    ]);
    // Half the POSTs have nothing wrong around the body: a keeper session and the usual headers.
    const clean = r.chance(0.5);
    let session: PickedSession;
    if (kind === 'initialize') session = this.#pickSession(clean ? { none: 1 } : { keeper: 15, none: 70, unknown: 10, malformed: 5 });
    else if (clean) session = this.#pickKeeper(kind === 'batch' ? 0.8 : 0);
    else session = this.#pickSession({ keeper: 40, victim: 6, none: 18, unknown: 18, malformed: 18 });
    const facts = this.#baseFacts('POST', session.kind, session.session?.version);
    const headers: Record<string, string> = {};
    const tags: string[] = [];
    this.#commonHeaders('POST', session, headers, facts, tags, clean);

    const sessionKey = session.session?.id;
    let body: Body;
    let text: string | undefined;
    let bytes: Uint8Array | undefined;
    let decoding: BodyFacts['decoding'] = 'clean';
    switch (kind) {
      case 'initialize':
        body = this.#initialize();
        break;
      case 'valid':
        body = this.#validRequest(sessionKey);
        break;
      case 'quiet':
        body = r.chance(0.6) ? this.#notification() : this.#clientResponse();
        break;
      case 'rejected':
        body = this.#rejectedShape();
        break;
      case 'mutated':
        body = this.#mutated(sessionKey);
        break;
      case 'batch':
        body = this.#batch(sessionKey);
        break;
      case 'random':
        body = { tree: this.#randomJson(3), shape: 'random JSON' };
        break;
      case 'oversized': {
        const filler = 'z'.repeat(this.#context.maxBodyBytes + r.int(1, 4096));
        body = r.chance(0.7)
          ? { tree: this.#call('echo', { text: filler }, this.#freshId()), shape: 'oversized: tools/call echo' }
          : { tree: filler, shape: 'oversized: a JSON string' };
        break;
      }
      default: {
        const invalid = this.#invalidJson();
        text = invalid.text;
        bytes = invalid.bytes;
        decoding = invalid.decoding;
        body = { tree: null, shape: invalid.shape };
      }
    }
    if (text === undefined && bytes === undefined) text = serialize(body.tree);
    const payload = bytes ?? new TextEncoder().encode(text);
    facts.oversized = payload.byteLength > this.#context.maxBodyBytes;
    const seen = (bytes === undefined ? text! : new TextDecoder().decode(bytes)).replace(/^\ufeff/, '');
    facts.body = { decoding, parsed: parseJson(seen) };
    if (sessionKey !== undefined && facts.body.parsed.ok) this.#register(sessionKey, facts.body.parsed.value);

    // Content-Type: a Uint8Array body, so fetch adds none of its own.
    const contentType = clean
      ? (['ok', 'application/json'] as const)
      : r.weighted<readonly [Facts['contentType'], string | undefined]>([
          [70, ['ok', 'application/json']],
          [12, ['ok', r.pick(['application/json; charset=utf-8', 'application/json;charset=UTF-8', 'APPLICATION/JSON'])]],
          [
            18,
            [
              'bad',
              r.pick([
                undefined,
                'text/plain',
                'application/x-www-form-urlencoded',
                'application/jsonp',
                'application/json-seq',
                'text/json',
                'multipart/form-data; boundary=x',
              ]),
            ],
          ],
        ]);
    facts.contentType = contentType[0];
    if (contentType[1] !== undefined) headers['content-type'] = contentType[1];
    if (contentType[1] !== 'application/json')
      tags.push(contentType[1] === undefined ? 'no Content-Type' : `Content-Type ${contentType[1]}`);
    if (!clean && r.chance(0.04)) {
      headers['last-event-id'] = 'fuzz.1';
      facts.lastEventId = 'garbage';
      tags.push('Last-Event-ID');
    }
    return {
      index,
      method: 'POST',
      context: `POST [${tags.join(', ')}]`,
      shape: body.shape,
      headers,
      body: payload,
      facts,
      session: session.session,
    };
  }

  #get(index: number): FuzzCase {
    const r = this.#prng;
    const clean = r.chance(0.5);
    const session = clean ? this.#pickKeeper(0) : this.#pickSession({ keeper: 30, victim: 10, none: 20, unknown: 20, malformed: 20 });
    const facts = this.#baseFacts('GET', session.kind, session.session?.version);
    const headers: Record<string, string> = {};
    const tags: string[] = [];
    this.#commonHeaders('GET', session, headers, facts, tags, clean);
    const resume = r.weighted<Facts['lastEventId'] | 'harvest'>([
      [55, 'absent'],
      [15, 'garbage'],
      [10, 'unknown'],
      [20, 'harvest'],
    ]);
    let harvestFrom: FuzzCase['harvestFrom'];
    let shape = 'GET standalone stream';
    if (resume === 'garbage') {
      headers['last-event-id'] = r.pick(['garbage', '.5', 'stream.-1', 'stream.x', '', '9'.repeat(400), 'é', 'a.b.c.1e3']);
      facts.lastEventId = 'garbage';
      shape = 'GET with a malformed Last-Event-ID';
    } else if (resume === 'unknown') {
      headers['last-event-id'] = r.pick(['nosuchstream.7', 'nosuchstream.0', '_GET_stream.99999']);
      facts.lastEventId = 'unknown';
      shape = 'GET with an unknown Last-Event-ID';
    } else if (resume === 'harvest') {
      // Mostly an id of this session's own streams (when it is a keeper), else another keeper's.
      const mine = session.kind === 'keeper' ? this.#context.keepers.indexOf(session.session!) : -1;
      const keeper = mine !== -1 && r.chance(0.7) ? mine : r.int(0, this.#context.keepers.length - 1);
      const own = keeper === mine;
      harvestFrom = { keeper, own };
      // Resolved when sent; until then, what it becomes when nothing was harvested.
      headers['last-event-id'] = 'nothing-harvested.1';
      facts.lastEventId = 'unknown';
      shape = own ? "GET resuming this session's stream" : "GET resuming another session's stream";
    }
    return {
      index,
      method: 'GET',
      context: `GET [${tags.join(', ')}]`,
      shape,
      headers,
      body: undefined,
      facts,
      harvestFrom,
      session: session.session,
    };
  }

  #delete(index: number): FuzzCase {
    const r = this.#prng;
    const session = this.#pickSession({ keeper: 15, victim: 40, none: 15, unknown: 15, malformed: 15 });
    const facts = this.#baseFacts('DELETE', session.kind, session.session?.version);
    const headers: Record<string, string> = {};
    const tags: string[] = [];
    this.#commonHeaders('DELETE', session, headers, facts, tags);
    if (session.kind === 'keeper' && facts.origin !== 'foreign' && facts.versionHeader !== 'unsupported') {
      // A keeper must outlive the run: a DELETE reaches one only with a defect that must refuse it.
      if (r.chance(0.5)) {
        headers.origin = 'https://evil.example';
        facts.origin = 'foreign';
        tags.push('Origin https://evil.example');
      } else {
        headers['mcp-protocol-version'] = '1999-01-01';
        facts.versionHeader = 'unsupported';
        tags.splice(
          0,
          tags.length,
          ...tags.filter((tag) => !tag.startsWith('version ') && tag !== 'no version header'),
          'version "1999-01-01"',
        );
      }
    }
    return {
      index,
      method: 'DELETE',
      context: `DELETE [${tags.join(', ')}]`,
      shape: 'DELETE',
      headers,
      body: undefined,
      facts,
      session: session.session,
    };
  }

  #other(index: number, method: string): FuzzCase {
    const r = this.#prng;
    const session = this.#pickSession({ keeper: 60, victim: 0, none: 20, unknown: 20, malformed: 0 });
    const facts = this.#baseFacts(method, session.kind, session.session?.version);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const tags: string[] = [];
    this.#commonHeaders(method, session, headers, facts, tags);
    const body = r.chance(0.5) ? undefined : new TextEncoder().encode(serialize(this.#ping(this.#freshId())));
    return { index, method, context: `${method} [${tags.join(', ')}]`, shape: `${method}`, headers, body, facts, session: session.session };
  }

  // ---- ids ---------------------------------------------------------------------------------------------

  #freshId(): J {
    const id = this.#nextId++;
    return this.#prng.chance(0.8) ? id : `fuzz-${id}`;
  }

  /** A special id, unless this session already used it: then a fresh one. */
  #specialId(sessionKey: string | undefined): J {
    const r = this.#prng;
    const special = r.pick<J>([
      0,
      -1,
      new JRaw('-0'),
      new JRaw('1.0'),
      new JRaw('1E2'),
      new JRaw('1.5e3'),
      2 ** 53 - 1,
      -(2 ** 53 - 1),
      '',
      'héllo ✓',
      '🚀',
      '\u0000',
      'x'.repeat(1000),
      '1',
    ]);
    const parsed = JSON.parse(serialize(special)) as unknown;
    return sessionKey !== undefined && this.#used.get(sessionKey)?.has(idKey(parsed)) === true ? this.#freshId() : special;
  }

  /** Ids the SDK cannot carry (or not as ids at all). */
  #badId(): { id: J; name: string } {
    return this.#prng.pick<{ id: J; name: string }>([
      { id: this.#nextId++ + 0.5, name: 'fractional id' },
      { id: -0.5, name: 'id -0.5' },
      { id: new JRaw('9007199254740993'), name: 'id 2^53+1' },
      { id: 2 ** 53, name: 'id 2^53' },
      { id: -(2 ** 53) - 2, name: 'id -2^53-2' },
      { id: new JRaw('1e400'), name: 'id 1e400' },
      { id: 1e21, name: 'id 1e21' },
      { id: null, name: 'id null' },
      { id: true, name: 'id true' },
      { id: new JObj([]), name: 'id {}' },
      { id: [1], name: 'id [1]' },
    ]);
  }

  /** Every request id of a parsed body is now used in the session. */
  #register(sessionKey: string, value: unknown): void {
    const used = this.#used.get(sessionKey)!;
    for (const entry of Array.isArray(value) ? value : [value]) {
      if (typeof entry === 'object' && entry !== null && 'method' in entry && 'id' in entry) used.add(idKey((entry as { id: unknown }).id));
    }
  }

  // ---- bodies ------------------------------------------------------------------------------------------

  #ping(id: J, params?: J): JObj {
    const message = new JObj([
      ['jsonrpc', '2.0'],
      ['id', id],
      ['method', 'ping'],
    ]);
    if (params !== undefined) message.add('params', params);
    return message;
  }

  #call(name: string, args: unknown, id: J, meta?: J): JObj {
    const params = new JObj([
      ['name', name],
      ['arguments', tree(args)],
    ]);
    if (meta !== undefined) params.add('_meta', meta);
    return new JObj([
      ['jsonrpc', '2.0'],
      ['id', id],
      ['method', 'tools/call'],
      ['params', params],
    ]);
  }

  #request(id: J): Body {
    const r = this.#prng;
    const which = r.int(0, 12);
    const token = (): J => (r.chance(0.5) ? `progress-${this.#nextId++}` : this.#nextId++);
    switch (which) {
      case 0:
        return { tree: this.#ping(id), shape: 'ping' };
      case 1:
        return {
          tree: this.#ping(
            id,
            tree(r.pick<unknown>([{}, { _meta: {} }, { _meta: { progressToken: 'p' } }, { _meta: { vendor: { x: [1, null] } } }])),
          ),
          shape: 'ping with params',
        };
      case 2:
        return { tree: tree({ jsonrpc: '2.0', id, method: 'tools/list' }), shape: 'tools/list' };
      case 3:
        return { tree: this.#call('echo', { text: r.pick(ODD_STRINGS.slice(0, 10)) }, id), shape: 'tools/call echo' };
      case 4:
        return {
          tree: this.#call('countdown', { from: r.int(1, 3) }, id, tree({ progressToken: token() })),
          shape: 'tools/call countdown with progress',
        };
      case 5:
        return { tree: this.#call('countdown', { from: r.int(1, 2) }, id), shape: 'tools/call countdown' };
      case 6:
        return { tree: this.#call('whoami', {}, id), shape: 'tools/call whoami' };
      case 7:
        return { tree: this.#call('notify_standalone', { data: 'fuzz' }, id), shape: 'tools/call notify_standalone' };
      case 8:
        return { tree: this.#call('no_such_tool', {}, id), shape: 'tools/call of an unknown tool' };
      case 9:
        return {
          tree: this.#call('echo', r.pick<unknown>([{ text: 5 }, {}, [], null, 'x']), id),
          shape: 'tools/call echo with bad arguments',
        };
      case 10:
        return {
          tree: tree({ jsonrpc: '2.0', id, method: r.pick(['fuzz/unknown', 'resources/list', 'prompts/list', '']) }),
          shape: 'unknown method',
        };
      case 11:
        return {
          tree: tree({ jsonrpc: '2.0', id, method: 'logging/setLevel', params: { level: r.pick(['debug', 'info', 'bogus']) } }),
          shape: 'logging/setLevel',
        };
      default:
        return { tree: tree({ jsonrpc: '2.0', id, method: 'notifications/initialized' }), shape: 'a notification method with an id' };
    }
  }

  #validRequest(sessionKey: string | undefined): Body {
    const id = this.#prng.chance(0.2) ? this.#specialId(sessionKey) : this.#freshId();
    const body = this.#request(id);
    return { tree: body.tree, shape: `valid request: ${body.shape}` };
  }

  #notification(): Body {
    const r = this.#prng;
    const message = r.pick<unknown>([
      { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: `never-sent-${this.#nextId++}`, reason: 'fuzz' } },
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'never-sent', progress: 1 } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', method: 'notifications/fuzz', params: { _meta: { progressToken: 3 } } },
    ]);
    return { tree: tree(message), shape: 'valid notification' };
  }

  #clientResponse(): Body {
    const r = this.#prng;
    const message = r.chance(0.5)
      ? { jsonrpc: '2.0', id: `nobody-asked~${this.#nextId++}`, result: {} }
      : { jsonrpc: '2.0', id: this.#nextId++, error: { code: -32601, message: 'Method not found' } };
    return { tree: tree(message), shape: 'valid client response' };
  }

  #initialize(): Body {
    const r = this.#prng;
    const version = r.pick([...SUPPORTED_VERSIONS, '1999-01-01']);
    const message = tree({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } },
    }) as JObj;
    if (r.chance(0.5)) return { tree: message, shape: 'initialize' };
    const names = this.#mutate(message, undefined, r.int(1, 2));
    return { tree: message, shape: `mutated initialize: ${names.join(' + ')}` };
  }

  /** The shapes the issue names: the SDK rejects each, so the server never answers it. */
  #rejectedShape(): Body {
    const r = this.#prng;
    const id = this.#freshId();
    const shapes: Array<() => Body> = [
      () => ({ tree: this.#ping(5.5), shape: 'SDK-rejected: id 5.5' }),
      () => ({ tree: this.#ping(new JRaw('9007199254740993')), shape: 'SDK-rejected: id 2^53+1' }),
      () => ({ tree: this.#ping(id).add('extra', true), shape: 'SDK-rejected: extra top-level key' }),
      () => ({ tree: this.#ping(id, tree({ _meta: null })), shape: 'SDK-rejected: params {"_meta": null}' }),
      () => ({ tree: this.#call('echo', { text: 'x' }, id, tree({ progressToken: {} })), shape: 'SDK-rejected: progressToken {}' }),
      () => ({ tree: this.#ping(id).add('__proto__', tree({ polluted: true })), shape: 'SDK-rejected: top-level __proto__ key' }),
    ];
    return r.pick(shapes)();
  }

  #mutated(sessionKey: string | undefined): Body {
    const r = this.#prng;
    const base = r.chance(0.85) ? this.#request(this.#freshId()) : r.chance(0.5) ? this.#notification() : this.#clientResponse();
    const message = clone(base.tree) as JObj;
    const names = this.#mutate(
      message,
      sessionKey,
      r.weighted([
        [60, 1],
        [30, 2],
        [10, 3],
      ]),
    );
    return { tree: message, shape: `mutated ${base.shape.replace(/^valid /, '')}: ${names.join(' + ')}` };
  }

  /** Applies `count` mutations in place; returns their names. */
  #mutate(message: JObj, sessionKey: string | undefined, count: number): string[] {
    const r = this.#prng;
    const names: string[] = [];
    const params = (): JObj => message.child('params');
    const meta = (): JObj => params().child('_meta');
    for (let i = 0; i < count; i += 1) {
      const mutation = r.int(0, 15);
      switch (mutation) {
        case 0: {
          const bad = this.#badId();
          message.set('id', bad.id);
          names.push(bad.name);
          break;
        }
        case 1:
          message.set('id', this.#specialId(sessionKey));
          names.push('odd but valid id');
          break;
        case 2: {
          const key = r.pick(['jsonrpc', 'id', 'method', 'params']);
          message.delete(key);
          names.push(`no ${key}`);
          break;
        }
        case 3:
          message.set('jsonrpc', r.pick<J>(['1.0', 2, '2.0 ', null, '']));
          names.push('bad jsonrpc');
          break;
        case 4:
          message.set('method', r.pick<J>([7, null, [], new JObj([]), true]));
          names.push('method not a string');
          break;
        case 5:
          message.set(
            'method',
            r.pick<J>(['PING', 'ping\u0000', 'tools/call ', '\u{1F680}', 'm'.repeat(5000), '__proto__', 'constructor']),
          );
          names.push('odd method name');
          break;
        case 6: {
          const key = r.pick(['extra', 'result', 'error', 'constructor', 'prototype', 'ID', 'params ', '\u0000']);
          message.add(key, this.#randomJson(1));
          names.push(`extra key ${JSON.stringify(key)}`);
          break;
        }
        case 7:
          message.set('params', r.pick<J>([[], 'x', 5, null, true, [new JObj([])]]));
          names.push('params not an object');
          break;
        case 8: {
          const junk = r.pick<J>([null, 5, 'x', [], true, new JRaw('1e400')]);
          params().set('_meta', junk);
          names.push(`_meta ${serialize(junk)}`);
          break;
        }
        case 9: {
          const token = r.pick<J>([new JObj([]), [], 5.5, null, true, new JRaw('9007199254740993'), 'ok', 7, -0, new JRaw('1e400')]);
          meta().set('progressToken', token);
          names.push(`progressToken ${serialize(token)}`);
          break;
        }
        case 10: {
          const task = r.pick<J>([5, new JObj([]), tree({ taskId: 3 }), tree({ taskId: 't' }), null]);
          meta().set(TAG, task);
          names.push(`related-task ${serialize(task)}`);
          break;
        }
        case 11: {
          // __proto__ at several depths; only the top level is an extra key to the SDK's strict schema.
          const depth = r.pick(['top level', 'params', '_meta', 'arguments', 'deep']);
          const value = r.pick<J>([tree({ polluted: true }), null, 5, tree({ toString: 'x' }), []]);
          if (depth === 'top level') message.add('__proto__', value);
          else if (depth === 'params') params().add('__proto__', value);
          else if (depth === '_meta') meta().add('__proto__', value);
          else if (depth === 'arguments') {
            const args = params().get('arguments');
            if (args instanceof JObj) args.add('__proto__', value);
            else params().set('arguments', new JObj([['__proto__', value]]));
          } else {
            const inner = new JObj([['c', new JObj([['__proto__', value]])]]);
            params().set('nested', new JObj([['a', new JObj([['b', [inner]]])]]));
          }
          names.push(`__proto__ key (${depth})`);
          break;
        }
        case 12: {
          const key = r.pick(['id', 'method', 'jsonrpc']);
          const current = message.get(key) ?? 'x';
          message.entries.unshift([key, r.pick<J>([current, 7, 'other', null])]);
          names.push(`duplicate key ${key}`);
          break;
        }
        case 13: {
          let nested: J = 'bottom';
          for (let depth = r.int(20, 200); depth > 0; depth -= 1) nested = r.chance(0.5) ? [nested] : new JObj([['n', nested]]);
          meta().set('deep', nested);
          names.push('deeply nested _meta');
          break;
        }
        case 14:
          if (message.has('id')) message.delete('id');
          else message.set('id', this.#freshId());
          names.push(message.has('id') ? 'id added' : 'id removed');
          break;
        default: {
          const key = r.pick(ODD_STRINGS.slice(0, 9));
          params().set(key, r.pick<J>(ODD_STRINGS));
          names.push('odd unicode in params');
        }
      }
    }
    return names;
  }

  #batch(sessionKey: string | undefined): Body {
    const r = this.#prng;
    if (r.chance(0.05)) return { tree: [], shape: 'batch: empty' };
    const size = r.int(1, 5);
    const entries: J[] = [];
    const kinds: string[] = [];
    for (let i = 0; i < size; i += 1) {
      const kind = r.weighted<string>([
        [40, 'request'],
        [15, 'notification'],
        [8, 'response'],
        [15, 'rejected'],
        [12, 'mutated'],
        [5, 'random'],
        [5, 'nested'],
      ]);
      kinds.push(kind);
      if (kind === 'request') entries.push(this.#request(this.#freshId()).tree);
      else if (kind === 'notification') entries.push(this.#notification().tree);
      else if (kind === 'response') entries.push(this.#clientResponse().tree);
      else if (kind === 'rejected') {
        const shape = this.#rejectedShape();
        entries.push(shape.tree);
        kinds[kinds.length - 1] = shape.shape.replace('SDK-rejected: ', 'rejected ');
      } else if (kind === 'mutated') entries.push(this.#mutated(sessionKey).tree);
      else if (kind === 'random') entries.push(this.#randomJson(1));
      else entries.push([this.#ping(this.#freshId())]);
    }
    const requests = entries.filter((entry): entry is JObj => entry instanceof JObj && entry.has('method') && entry.has('id'));
    if (requests.length >= 1 && r.chance(0.25)) {
      const copy = clone(r.pick(requests)) as JObj;
      const other = this.#request(copy.get('id')!).tree;
      entries.splice(r.int(0, entries.length), 0, other);
      kinds.push('duplicate id');
    }
    return { tree: entries, shape: `batch: ${[...new Set(kinds)].sort().join(', ')}` };
  }

  #randomJson(depth: number): J {
    const r = this.#prng;
    const leaf = (): J =>
      r.pick<() => J>([
        () => null,
        () => r.chance(0.5),
        () => r.int(-1000, 1000),
        () => r.next() * 1e6,
        () => new JRaw(r.pick(['9007199254740993', '1e400', '-0', '1E-400', '0.0000001'])),
        () => r.pick(ODD_STRINGS.slice(0, 10)),
        () => r.pick(['2.0', 'ping', 'tools/call', 'initialize']),
      ])();
    if (depth <= 0 || r.chance(0.4)) return leaf();
    if (r.chance(0.4)) return Array.from({ length: r.int(0, 3) }, () => this.#randomJson(depth - 1));
    const keys = ['jsonrpc', 'id', 'method', 'params', 'result', 'error', '__proto__', 'a', ''];
    return new JObj(Array.from({ length: r.int(0, 4) }, () => [r.pick(keys), this.#randomJson(depth - 1)] as [string, J]));
  }

  #invalidJson(): { text?: string; bytes?: Uint8Array; decoding: BodyFacts['decoding']; shape: string } {
    const r = this.#prng;
    const valid = serialize(this.#ping(this.#freshId()));
    const encoder = new TextEncoder();
    return r.pick<() => { text?: string; bytes?: Uint8Array; decoding: BodyFacts['decoding']; shape: string }>([
      () => ({ text: valid.slice(0, r.int(1, valid.length - 1)), decoding: 'clean', shape: 'invalid JSON: truncated' }),
      () => ({ text: `${valid} x`, decoding: 'clean', shape: 'invalid JSON: trailing garbage' }),
      () => ({ text: `${valid}${valid}`, decoding: 'clean', shape: 'invalid JSON: two messages' }),
      () => ({ text: valid.replace(/"/g, "'"), decoding: 'clean', shape: 'invalid JSON: single quotes' }),
      () => ({
        text: r.pick(['NaN', 'undefined', '{"a":1,}', '[1,]', '{a:1}', '--1', '01', '"unterminated']),
        decoding: 'clean',
        shape: 'invalid JSON: near miss',
      }),
      () => ({ text: '', decoding: 'clean', shape: 'empty body' }),
      () => ({ text: r.pick([' ', '\n\n', '\t']), decoding: 'clean', shape: 'whitespace body' }),
      () => ({ text: `\ufeff${valid}`, decoding: 'odd', shape: 'BOM before valid JSON' }),
      () => {
        const bytes = encoder.encode(valid);
        const broken = new Uint8Array(bytes.length + 2);
        broken.set(bytes.subarray(0, bytes.length - 2));
        broken.set([0xff, 0xfe], bytes.length - 2);
        broken.set(bytes.subarray(bytes.length - 2), bytes.length);
        return { bytes: broken, decoding: 'odd', shape: 'bytes that are not UTF-8' };
      },
      () => ({ bytes: Uint8Array.from({ length: r.int(1, 64) }, () => r.int(0, 255)), decoding: 'odd', shape: 'random bytes' }),
    ])();
  }
}

function parseJson(text: string): BodyFacts['parsed'] {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}
