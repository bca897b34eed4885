/**
 * Generates the 2026-07-28 fuzz requests from a seed, against the conformance fixture (which serves
 * both eras): `_meta` envelopes (valid, broken, unsupported versions, odd shapes), the standard
 * headers MCP-Protocol-Version, Mcp-Method, Mcp-Name and Mcp-Param-* (plain or as `=?base64?…?=`,
 * matching, missing, different or badly encoded), methods the revision defines and others, multi
 * round-trip calls and `subscriptions/listen` — and beside them the legacy requests, batches that mix
 * eras, GET and DELETE that each `legacy` mode must serve or refuse. Each case carries the facts the
 * oracle (modern-oracle.ts) judges it by and tags that say what was mutated.
 *
 * A clean request is built first, its headers are those a correct client sends for the final body,
 * and the mutations then break (or harmlessly vary) the body and the headers independently.
 */
import { ACCEPT_BOTH } from '../raw.js';
import { type J, JObj, Prng, serialize, tree } from './json.js';
import { ASKS, type Capability, HEADER_TOOL, LEGACY_VERSIONS, META, MODERN_VERSION, type ModernFacts } from './modern-oracle.js';
import type { BodyFacts } from './oracle.js';

export interface ModernFuzzContext {
  /** The app's port, for allowed and foreign Origins. */
  port: number;
  maxBodyBytes: number;
}

/** A sequence the runner plays out against the answers it gets. */
export type Flow =
  /** A multi round-trip call answered round after round; `tamper` and `replay` misuse its requestState. */
  | { kind: 'mrtr'; method: 'tools/call' | 'prompts/get'; name: string; ending: 'complete' | 'tamper' | 'replay' | 'unanswered' }
  /** A listen stream, then a tool that announces a change it opted into: the change must reach it. */
  | { kind: 'change'; listen: 'tools' | 'prompts' | 'resource'; trigger: string };

export interface ModernCase {
  index: number;
  method: string;
  /** The headers and what is unusual, for the report. */
  context: string;
  /** The body's shape (or the flow's), for grouping failures. */
  shape: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
  facts: ModernFacts;
  /** The client gives up on the answer this long after sending (a cancellation, on 2026-07-28). */
  closeAfterMs?: number;
  flow?: Flow;
}

const CAPABILITIES: readonly Capability[] = ['elicitation', 'sampling', 'roots'];
const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error'];
const LOG_LEVELS_ALL = [...LOG_LEVELS, 'critical', 'alert', 'emergency'];
const WATCHED = 'test://watched-resource';

/** Tools of the fixture, by what calling them exercises. */
const TOOLS: ReadonlyArray<readonly [number, string]> = [
  [10, 'test_simple_text'],
  [12, HEADER_TOOL],
  [4, 'test_tool_with_logging'],
  [4, 'test_tool_with_progress'],
  [3, 'test_error_handling'],
  [3, 'test_image_content'],
  [2, 'test_embedded_resource'],
  [5, 'test_missing_capability'],
  [4, 'test_input_required_result_elicitation'],
  [3, 'test_input_required_result_sampling'],
  [3, 'test_input_required_result_list_roots'],
  [3, 'test_input_required_result_request_state'],
  [3, 'test_input_required_result_multiple_inputs'],
  [2, 'test_input_required_result_multi_round'],
  [3, 'test_input_required_result_capabilities'],
  [3, 'test_sampling'],
  [2, 'test_elicitation'],
  [3, 'test_trigger_tool_change'],
  [2, 'test_trigger_prompt_change'],
  [2, 'test_trigger_resource_updated'],
  [3, 'json_schema_2020_12_tool'],
  [2, 'test_streaming_elicitation'],
  [2, 'test_logging_tool'],
  [5, 'no_such_tool'],
];

/** Names and URIs that a header can carry only as base64, and some it can carry plainly. */
const ODD_NAMES = ['héllo ✓', '𝔘𝔫𝔦🚀', 'line\nbreak', ' padded ', '', 'a'.repeat(2000), '=?base64?eA==?=', 'tab\there', '\u202e\u200b'];

/** Header values HTTP carries as they are: visible ASCII, no whitespace at either end. */
function sendable(value: string): boolean {
  return /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/.test(value);
}

const sentinel = (value: string) => `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;

/** Badly encoded sentinels: not base64, not canonical, not UTF-8. */
const BAD_SENTINELS = ['=?base64?!!!?=', '=?base64?YQ?=', '=?base64?/w==?=', '=?base64?YWJj=?=', '=?base64?Y W J j?='];

interface Built {
  message: JObj;
  shape: string;
  tags: string[];
  retry: ModernFacts['retry'];
  /** The client will give up early (a slow call, or a stream that stays open). */
  slow: boolean;
}

export class ModernFuzzGenerator {
  readonly #prng: Prng;
  readonly #context: ModernFuzzContext;
  #nextId = 1000;

  constructor(seed: number, context: ModernFuzzContext) {
    this.#prng = new Prng(seed);
    this.#context = context;
  }

  cases(count: number): ModernCase[] {
    return Array.from({ length: count }, (_, index) => this.#case(index));
  }

  /**
   * Clean requests for a cold start, all sent at once before the 2026-07-28 server exists: listen
   * streams and slow calls, most given up by their client while the server is still being built.
   */
  coldStart(count: number): ModernCase[] {
    return Array.from({ length: count }, (_, index) => this.#cold(-1 - index));
  }

  #cold(index: number): ModernCase {
    const r = this.#prng;
    const params = new JObj([]);
    let method = 'subscriptions/listen';
    if (r.chance(0.5)) params.add('notifications', tree(r.pick([{ toolsListChanged: true }, { resourceSubscriptions: [WATCHED] }])));
    else {
      method = 'tools/call';
      params.add('name', r.pick(['test_tool_with_logging', 'test_tool_with_progress', 'test_simple_text'])).add('arguments', new JObj([]));
    }
    params.add('_meta', this.#envelope([]));
    const message = new JObj([
      ['jsonrpc', '2.0'],
      ['id', this.#freshId()],
      ['method', method],
      ['params', params],
    ]);
    const headers: Record<string, string> = {};
    const tags = ['cold start'];
    this.#canonicalHeaders(message, headers, tags);
    const facts = this.#facts('POST', headers);
    facts.envelope = envelopeOf(message);
    this.#transportHeaders('POST', headers, facts, tags);
    const closeAfterMs = r.chance(0.7) ? r.int(0, 30) : undefined;
    if (closeAfterMs !== undefined) tags.push(`closed after ${closeAfterMs} ms`);
    return this.#post(index, message, `cold start: ${method}`, headers, facts, tags, closeAfterMs);
  }

  #case(index: number): ModernCase {
    const r = this.#prng;
    const kind = r.weighted<string>([
      [58, 'modern'],
      [7, 'notification'],
      [8, 'flow'],
      [11, 'legacy'],
      [5, 'batch'],
      [6, 'other method'],
      [5, 'garbage'],
    ]);
    switch (kind) {
      case 'modern':
        return this.#modernPost(index, this.#modernRequest());
      case 'notification':
        return this.#modernPost(index, this.#modernNotification());
      case 'flow':
        return this.#flow(index);
      case 'legacy':
        return this.#legacyPost(index);
      case 'batch':
        return this.#batchPost(index);
      case 'other method':
        return this.#otherMethod(index);
      default:
        return this.#garbage(index);
    }
  }

  // ---- envelopes and messages ----------------------------------------------------------------------------

  #freshId(): J {
    const id = this.#nextId++;
    return this.#prng.chance(0.75) ? id : `m-${id}`;
  }

  /** A valid envelope declaring `capabilities` (and sometimes client info, a log level, a progress token). */
  #envelope(capabilities: readonly Capability[]): JObj {
    const r = this.#prng;
    const caps = new JObj(
      capabilities.map((capability) => [capability, capability === 'elicitation' && r.chance(0.5) ? tree({ form: {} }) : new JObj([])]),
    );
    const meta = new JObj([
      [META.protocolVersion, MODERN_VERSION],
      [META.clientCapabilities, caps],
    ]);
    if (r.chance(0.7)) meta.add(META.clientInfo, tree({ name: r.pick(['fuzz', 'x'.repeat(500), 'héllo ✓']), version: '1.0.0' }));
    return meta;
  }

  /** Capabilities a call asks for, declared most of the time; otherwise a random set. */
  #capabilitiesFor(method: string, name: string | undefined): Capability[] {
    const r = this.#prng;
    const asks = name === undefined ? undefined : ASKS[`${method} ${name}`];
    if (asks !== undefined && r.chance(0.65)) return [...asks];
    return CAPABILITIES.filter(() => r.chance(0.3));
  }

  #modernRequest(): Built {
    const r = this.#prng;
    const method = r.weighted<string>([
      [40, 'tools/call'],
      [6, 'tools/list'],
      [6, 'server/discover'],
      [3, 'prompts/list'],
      [3, 'resources/list'],
      [2, 'resources/templates/list'],
      [6, 'prompts/get'],
      [6, 'resources/read'],
      [3, 'completion/complete'],
      [10, 'subscriptions/listen'],
      [9, 'unknown'],
    ]);
    const tags: string[] = [];
    const params = new JObj([]);
    let name: string | undefined;
    let shape: string = method;
    let slow = false;
    let wire = method;
    switch (method) {
      case 'tools/call': {
        name = r.weighted(TOOLS);
        if (name === 'no_such_tool' && r.chance(0.4)) name = r.pick(ODD_NAMES);
        params.add('name', name);
        const args = this.#toolArguments(name);
        if (args !== undefined) params.add('arguments', args);
        shape = `tools/call ${name.length > 40 ? `${name.slice(0, 40)}…` : name}`;
        slow = name === 'test_tool_with_logging' || name === 'test_tool_with_progress';
        break;
      }
      case 'prompts/get': {
        name = r.pick([
          'test_simple_prompt',
          'test_prompt_with_arguments',
          'test_input_required_result_prompt',
          'test_prompt_with_image',
          'no_such_prompt',
        ]);
        params.add('name', name);
        if (name === 'test_prompt_with_arguments') params.add('arguments', tree(r.chance(0.8) ? { arg1: 'a', arg2: 'b' } : { arg1: 5 }));
        shape = `prompts/get ${name}`;
        break;
      }
      case 'resources/read': {
        name = r.pick([
          'test://static-text',
          'test://static-binary',
          'test://template/123/data',
          'test://nonexistent-resource-for-conformance-testing',
          WATCHED,
          r.pick(ODD_NAMES),
        ]);
        params.add('uri', name);
        shape = 'resources/read';
        break;
      }
      case 'completion/complete':
        params.add('ref', tree({ type: 'ref/prompt', name: 'test_prompt_with_arguments' }));
        params.add('argument', tree({ name: 'arg1', value: r.pick(['pa', '', 'zz']) }));
        break;
      case 'subscriptions/listen': {
        const notifications = r.weighted<[string, unknown]>([
          [20, ['nothing', {}]],
          [20, ['tools', { toolsListChanged: true }]],
          [10, ['prompts and resources', { promptsListChanged: true, resourcesListChanged: true }]],
          [10, ['a resource', { resourceSubscriptions: [WATCHED] }]],
          [5, ['false flags', { toolsListChanged: false, promptsListChanged: 'yes' }]],
          [4, ['URIs that are no strings', { resourceSubscriptions: [5, null] }]],
          [10, ['not an object', r.pick<unknown>([[], 'x', null, 5])]],
          [6, ['absent', undefined]],
        ]);
        if (notifications[1] !== undefined) params.add('notifications', tree(notifications[1]));
        shape = `subscriptions/listen: ${notifications[0]}`;
        slow = true;
        break;
      }
      case 'unknown':
        wire = r.pick([
          'ping',
          'initialize',
          'fuzz/unknown',
          'resources/subscribe',
          'logging/setLevel',
          'tasks/get',
          'constructor',
          '__proto__',
          'sampling/createMessage',
          'notifications/initialized',
          '',
        ]);
        if (wire === 'tasks/get') params.add('taskId', r.pick(['t-1', 'héllo']));
        if (wire === 'initialize')
          params
            .add('protocolVersion', '2025-11-25')
            .add('capabilities', new JObj([]))
            .add('clientInfo', tree({ name: 'fuzz', version: '1' }));
        if (wire === 'logging/setLevel') params.add('level', 'debug');
        shape = `a method 2026-07-28 does not define: ${JSON.stringify(wire)}`;
        break;
    }
    const meta = this.#envelope(this.#capabilitiesFor(method, name));
    params.add('_meta', meta);
    const message = new JObj([
      ['jsonrpc', '2.0'],
      ['id', this.#freshId()],
      ['method', wire],
      ['params', params],
    ]);
    const built: Built = { message, shape, tags, retry: 'none', slow };
    this.#mutate(
      built,
      r.weighted([
        [40, 0],
        [35, 1],
        [18, 2],
        [7, 3],
      ]),
    );
    return built;
  }

  #toolArguments(name: string): J | undefined {
    const r = this.#prng;
    switch (name) {
      case HEADER_TOOL:
        return r.weighted<J | undefined>([
          [40, tree({ region: r.pick(['eu-west-1', 'us', 'é-région', '', ' spaced ', 'a'.repeat(1500), '=?base64?eA==?=']) })],
          [15, tree({ region: 'eu', level: r.int(-3, 1000) })],
          [10, tree({ level: 3 })],
          [8, tree({ region: r.pick<unknown>([5, true, 1.5, null, { a: 1 }]) })],
          [10, new JObj([])],
          [7, undefined],
        ]);
      case 'test_sampling':
        return tree({ prompt: 'hello' });
      case 'test_elicitation':
        return tree({ message: 'name?' });
      case 'json_schema_2020_12_tool':
        return tree(r.pick<unknown>([{ name: 'a', contactMethod: 'email', email: 'a@b' }, { name: 'a' }, { extra: 1 }]));
      case 'no_such_tool':
        return r.chance(0.5) ? tree({ x: 1 }) : undefined;
      default:
        return r.chance(0.7) ? new JObj([]) : undefined;
    }
  }

  #modernNotification(): Built {
    const r = this.#prng;
    const method = r.pick([
      'notifications/cancelled',
      'notifications/initialized',
      'notifications/progress',
      'notifications/roots/list_changed',
      'notifications/fuzz',
    ]);
    const params = new JObj([]);
    if (method === 'notifications/cancelled') params.add('requestId', this.#freshId()).add('reason', 'fuzz');
    if (method === 'notifications/progress') params.add('progressToken', 'never-sent').add('progress', 1);
    params.add('_meta', this.#envelope([]));
    const message = new JObj([
      ['jsonrpc', '2.0'],
      ['method', method],
      ['params', params],
    ]);
    const built: Built = { message, shape: `notification ${method}`, tags: [], retry: 'none', slow: false };
    this.#mutate(
      built,
      r.weighted([
        [50, 0],
        [35, 1],
        [15, 2],
      ]),
    );
    return built;
  }

  // ---- mutations -----------------------------------------------------------------------------------------

  /** Applies `count` mutations to the message in place, recording what they did. */
  #mutate(built: Built, count: number): void {
    const r = this.#prng;
    const { message, tags } = built;
    const params = (): JObj => message.child('params');
    const meta = (): JObj => params().child('_meta');
    const breaks = (tag: string) => tags.push(tag);
    for (let i = 0; i < count; i += 1) {
      switch (r.int(0, 21)) {
        case 0:
          meta().delete(META.clientCapabilities);
          breaks('no clientCapabilities');
          break;
        case 1: {
          const junk = r.pick<J>([null, [], 5, 'x', true]);
          meta().set(META.clientCapabilities, junk);
          breaks(`clientCapabilities ${serialize(junk)}`);
          break;
        }
        case 2: {
          const capabilities = meta().get(META.clientCapabilities);
          const junk = r.pick<J>(['x', 5, [], true, null]);
          const holder = capabilities instanceof JObj ? capabilities : new JObj([]);
          holder.set(r.pick(CAPABILITIES), junk);
          meta().set(META.clientCapabilities, holder);
          breaks(`a capability ${serialize(junk)}`);
          break;
        }
        case 3: {
          const junk = r.pick<J>([7, null, true, new JObj([]), ['2026-07-28']]);
          meta().set(META.protocolVersion, junk);
          breaks(`protocolVersion ${serialize(junk)}`);
          break;
        }
        case 4: {
          const junk = r.pick<J>([new JObj([]), 'x', tree({ name: 5, version: '1' }), tree({ name: 'x' })]);
          meta().set(META.clientInfo, junk);
          breaks(`clientInfo ${serialize(junk)}`);
          break;
        }
        case 5: {
          const junk = r.pick<J>(['bogus', 5, 'DEBUG', null]);
          meta().set(META.logLevel, junk);
          breaks(`logLevel ${serialize(junk)}`);
          break;
        }
        case 6:
        case 7: {
          const version = r.pick([
            '2027-01-01',
            '2025-11-25',
            '2026-07-27',
            '9999-12-31',
            'banana',
            '',
            '2026-07-28 ',
            '2026-7-28',
            'v'.repeat(3000),
          ]);
          meta().set(META.protocolVersion, version);
          tags.push(`version claim ${JSON.stringify(version.slice(0, 30))}`);
          break;
        }
        case 8:
          meta().delete(META.protocolVersion);
          tags.push('no version claim');
          break;
        case 9: {
          const size = r.int(500, r.chance(0.2) ? this.#context.maxBodyBytes + 4096 : 20_000);
          meta().set(r.pick(['vendor.example/blob', 'io.modelcontextprotocol/unknown', '']), 'x'.repeat(size));
          tags.push(`a ${size}-character _meta value`);
          break;
        }
        case 10: {
          let nested: J = 'bottom';
          for (let depth = r.int(20, 300); depth > 0; depth -= 1) nested = r.chance(0.5) ? [nested] : new JObj([['n', nested]]);
          meta().set('vendor.example/deep', nested);
          tags.push('deeply nested _meta value');
          break;
        }
        case 11: {
          const junk = r.pick<J>([null, [], 5, 'x', true]);
          params().set('_meta', junk);
          tags.push(`_meta ${serialize(junk)}`);
          break;
        }
        case 12: {
          const where = r.pick(['_meta', 'params', 'capabilities', 'arguments', 'top level']);
          const value = r.pick<J>([tree({ polluted: true }), null, 5]);
          if (where === '_meta') meta().add('__proto__', value);
          else if (where === 'params') params().add('__proto__', value);
          else if (where === 'top level') message.add('__proto__', value);
          else if (where === 'capabilities') {
            const capabilities = meta().get(META.clientCapabilities);
            if (capabilities instanceof JObj) capabilities.add('__proto__', value);
            else meta().set(META.clientCapabilities, new JObj([['__proto__', value]]));
          } else {
            const args = params().get('arguments');
            if (args instanceof JObj) args.add('__proto__', value);
            else params().set('arguments', new JObj([['__proto__', value]]));
          }
          tags.push(`__proto__ key (${where})`);
          break;
        }
        case 13: {
          const token = r.pick<J>([new JObj([]), [], 5.5, null, true]);
          meta().set('progressToken', token);
          tags.push(`progressToken ${serialize(token)}`);
          break;
        }
        case 14:
          meta().set('progressToken', r.chance(0.5) ? `p-${this.#nextId++}` : this.#nextId++);
          tags.push('progressToken');
          break;
        case 15:
          meta().set(META.logLevel, r.pick(LOG_LEVELS));
          tags.push('logLevel');
          break;
        case 16: {
          const junk = r.pick<J>([5, null, tree({}), [], true]);
          params().set('name', junk);
          tags.push(`name ${serialize(junk)}`);
          break;
        }
        case 17: {
          const junk = r.pick<J>(['x', 5, [], null]);
          params().set('arguments', junk);
          tags.push(`arguments ${serialize(junk)}`);
          break;
        }
        case 18: {
          const junk = r.pick<J>(['garbage', 5, null, '', 'x'.repeat(2000), new JObj([]), 'enc:v1:process:AAAA:BBBB']);
          params().set('requestState', junk);
          built.retry = 'junk';
          tags.push(`requestState ${serialize(junk).slice(0, 30)}`);
          break;
        }
        case 19: {
          const junk = r.pick<J>([
            null,
            [],
            tree({ user_name: 'x' }),
            tree({ user_name: { action: 'decline' } }),
            'x',
            tree({ llm_answer: { role: 'assistant' } }),
          ]);
          params().set('inputResponses', junk);
          built.retry = 'junk';
          tags.push(`inputResponses ${serialize(junk).slice(0, 40)}`);
          break;
        }
        case 20: {
          const id = r.pick<J>([0, -1, '', 'é', 'x'.repeat(1000), 2 ** 53 - 1, 5.5, null, new JObj([]), 2 ** 53]);
          if (message.has('id')) {
            message.set('id', id);
            tags.push(`id ${serialize(id).slice(0, 20)}`);
          } else {
            message.set('id', this.#freshId());
            tags.push('an id on a notification');
          }
          break;
        }
        default:
          message.add(r.pick(['extra', 'result', 'ID']), 1);
          tags.push('an extra top-level key');
      }
    }
  }

  // ---- headers -------------------------------------------------------------------------------------------

  /** What a correct client sends for this body: the version it claims, its method, name and mirrored argument. */
  #canonicalHeaders(message: JObj, headers: Record<string, string>, tags: string[]): void {
    const r = this.#prng;
    const params = message.get('params');
    const meta = params instanceof JObj ? params.get('_meta') : undefined;
    const claim = meta instanceof JObj ? meta.get(META.protocolVersion) : undefined;
    const version = typeof claim === 'string' && sendable(claim) ? claim : MODERN_VERSION;
    headers['mcp-protocol-version'] = version;
    const method = message.get('method');
    if (typeof method === 'string') headers['mcp-method'] = sendable(method) ? method : MODERN_VERSION;
    const encode = (value: string): string => (sendable(value) && r.chance(0.7) ? value : sentinel(value));
    if (params instanceof JObj) {
      const name = params.get(method === 'resources/read' ? 'uri' : method === 'tasks/get' ? 'taskId' : 'name');
      if (typeof name === 'string') {
        headers['mcp-name'] = encode(name);
        if (headers['mcp-name'] !== name) tags.push('Mcp-Name in base64');
      }
      const args = params.get('arguments');
      const region = args instanceof JObj ? args.get('region') : undefined;
      if (typeof region === 'string' || typeof region === 'number' || typeof region === 'boolean') {
        headers['mcp-param-region'] = encode(String(region));
        if (headers['mcp-param-region'] !== String(region)) tags.push('Mcp-Param-Region in base64');
      }
    }
  }

  /** Breaks or varies the standard headers. */
  #mutateHeaders(headers: Record<string, string>, tags: string[], count: number): void {
    const r = this.#prng;
    for (let i = 0; i < count; i += 1) {
      switch (r.int(0, 11)) {
        case 0:
          delete headers['mcp-protocol-version'];
          tags.push('no MCP-Protocol-Version');
          break;
        case 1: {
          const version = r.pick(['2025-11-25', '2027-01-01', '2026-07-28', 'banana', '', '1999-01-01', '2026-07-28, 2026-07-28']);
          headers['mcp-protocol-version'] = version;
          tags.push(`MCP-Protocol-Version ${JSON.stringify(version)}`);
          break;
        }
        case 2:
          headers['mcp-protocol-version'] = ` ${headers['mcp-protocol-version'] ?? MODERN_VERSION}\t`;
          tags.push('MCP-Protocol-Version padded');
          break;
        case 3:
          delete headers['mcp-method'];
          tags.push('no Mcp-Method');
          break;
        case 4: {
          const current = headers['mcp-method'] ?? '';
          const wrong = r.pick([current.toUpperCase(), 'tools/list', 'tools/call', `${current}/x`, '', `${current}, ${current}`]);
          headers['mcp-method'] = wrong;
          tags.push(`Mcp-Method ${JSON.stringify(wrong)}`);
          break;
        }
        case 5:
          delete headers['mcp-name'];
          tags.push('no Mcp-Name');
          break;
        case 6: {
          const wrong = r.pick(['other', 'test_simple_text', sentinel('other'), sentinel('héllo ✓'), `${headers['mcp-name'] ?? ''}x`]);
          headers['mcp-name'] = wrong;
          tags.push(`Mcp-Name ${JSON.stringify(wrong)}`);
          break;
        }
        case 7: {
          const bad = r.pick([...BAD_SENTINELS, (headers['mcp-name'] ?? '=?base64?eA==?=').replace('=?base64?', '=?BASE64?')]);
          headers['mcp-name'] = bad;
          tags.push(`Mcp-Name ${JSON.stringify(bad)}`);
          break;
        }
        case 8:
        case 9:
          this.#mutateParamHeader(headers, tags);
          break;
        case 10: {
          const [name, value] = r.pick<[string, string]>([
            ['mcp-param-other', 'x'],
            ['mcp-param-level', 'not a number'],
            ['mcp-session-id', `unknown-${this.#nextId++}`],
            ['last-event-id', 'stream.5'],
            ['mcp-name', 'ignored unless the method names something'],
          ]);
          headers[name] ??= value;
          tags.push(`${name} ${JSON.stringify(value)}`);
          break;
        }
        default: {
          const key = r.pick(['mcp-protocol-version', 'mcp-method', 'mcp-name']);
          if (headers[key] !== undefined && sendable(headers[key])) {
            headers[key] = `  ${headers[key]} `;
            tags.push(`${key} padded`);
          }
        }
      }
    }
  }

  /** Drops `Mcp-Param-Region`, or sends one that differs from the argument or is badly encoded. */
  #mutateParamHeader(headers: Record<string, string>, tags: string[]): void {
    const r = this.#prng;
    if (r.chance(0.35)) {
      delete headers['mcp-param-region'];
      tags.push('no Mcp-Param-Region');
      return;
    }
    const current = headers['mcp-param-region'] ?? '';
    const wrong = r.pick([
      'other',
      sentinel('autre'),
      current.toUpperCase() === current ? `${current}x` : current.toUpperCase(),
      ...BAD_SENTINELS,
    ]);
    headers['mcp-param-region'] = wrong;
    tags.push(`Mcp-Param-Region ${JSON.stringify(wrong)}`);
  }

  /** Origin, Accept and Content-Type: mostly right, sometimes wrong. */
  #transportHeaders(method: string, headers: Record<string, string>, facts: ModernFacts, tags: string[]): void {
    const r = this.#prng;
    const { port } = this.#context;
    const origin = r.weighted<[ModernFacts['origin'], string | undefined]>([
      [92, ['absent', undefined]],
      [4, ['allowed', `http://127.0.0.1:${port}`]],
      [4, ['foreign', r.pick(['https://evil.example', 'null', `http://evil.example:${port}`])]],
    ]);
    facts.origin = origin[0];
    if (origin[1] !== undefined) {
      headers.origin = origin[1];
      tags.push(`Origin ${origin[1]}`);
    }
    if (method === 'GET') {
      headers.accept = r.chance(0.85) ? 'text/event-stream' : 'application/json';
      facts.accept = headers.accept === 'text/event-stream' ? 'ok' : 'bad';
    } else if (method === 'POST') {
      const accept = r.weighted<[ModernFacts['accept'], string]>([
        [95, ['ok', r.pick([ACCEPT_BOTH, 'text/event-stream, application/json'])]],
        [5, ['bad', r.pick(['application/json', 'text/event-stream', 'text/html'])]],
      ]);
      headers.accept = accept[1];
      facts.accept = accept[0];
      const type = r.weighted<[ModernFacts['contentType'], string]>([
        [95, ['ok', r.pick(['application/json', 'application/json; charset=utf-8'])]],
        [5, ['bad', r.pick(['text/plain', 'application/x-www-form-urlencoded'])]],
      ]);
      headers['content-type'] = type[1];
      facts.contentType = type[0];
    }
    if (facts.accept === 'bad') tags.push(`Accept ${headers.accept}`);
    if (facts.contentType === 'bad') tags.push(`Content-Type ${headers['content-type']}`);
  }

  #facts(method: string, headers: Record<string, string>): ModernFacts {
    return {
      method,
      origin: 'absent',
      accept: 'ok',
      contentType: 'ok',
      oversized: false,
      headers,
      body: undefined,
      envelope: 'none',
      retry: 'none',
    };
  }

  // ---- cases ---------------------------------------------------------------------------------------------

  #modernPost(index: number, built: Built): ModernCase {
    const r = this.#prng;
    const headers: Record<string, string> = {};
    const tags = [...built.tags];
    this.#canonicalHeaders(built.message, headers, tags);
    this.#mutateHeaders(
      headers,
      tags,
      r.weighted([
        [55, 0],
        [33, 1],
        [12, 2],
      ]),
    );
    // The mirrored argument's header is where a tool's own rules meet the transport's: broken more often.
    if (headers['mcp-param-region'] !== undefined && r.chance(0.4)) this.#mutateParamHeader(headers, tags);
    const facts = this.#facts('POST', headers);
    facts.envelope = envelopeOf(built.message);
    facts.retry = built.retry;
    this.#transportHeaders('POST', headers, facts, tags);
    const closeAfterMs = built.slow && r.chance(0.35) ? r.int(0, 60) : undefined;
    if (closeAfterMs !== undefined) tags.push(`closed after ${closeAfterMs} ms`);
    return this.#post(index, built.message, built.shape, headers, facts, tags, closeAfterMs);
  }

  #post(
    index: number,
    tree: J,
    shape: string,
    headers: Record<string, string>,
    facts: ModernFacts,
    tags: string[],
    closeAfterMs?: number,
  ): ModernCase {
    const text = serialize(tree);
    const body = new TextEncoder().encode(text);
    facts.oversized = body.byteLength > this.#context.maxBodyBytes;
    facts.body = { decoding: 'clean', parsed: parseJson(text) };
    return { index, method: 'POST', context: `POST [${tags.join(', ')}]`, shape, headers, body, facts, closeAfterMs };
  }

  #flow(index: number): ModernCase {
    const r = this.#prng;
    let flow: Flow;
    if (r.chance(0.65)) {
      const [method, name] = r.pick<['tools/call' | 'prompts/get', string]>([
        ['tools/call', 'test_input_required_result_elicitation'],
        ['tools/call', 'test_input_required_result_sampling'],
        ['tools/call', 'test_input_required_result_list_roots'],
        ['tools/call', 'test_input_required_result_request_state'],
        ['tools/call', 'test_input_required_result_multiple_inputs'],
        ['tools/call', 'test_input_required_result_multi_round'],
        ['tools/call', 'test_input_required_result_tampered_state'],
        ['tools/call', 'test_input_required_result_capabilities'],
        ['tools/call', 'test_missing_capability'],
        ['prompts/get', 'test_input_required_result_prompt'],
      ]);
      flow = { kind: 'mrtr', method, name, ending: r.pick(['complete', 'tamper', 'replay', 'unanswered']) };
    } else {
      flow = r.pick<Flow>([
        { kind: 'change', listen: 'tools', trigger: 'test_trigger_tool_change' },
        { kind: 'change', listen: 'prompts', trigger: 'test_trigger_prompt_change' },
        { kind: 'change', listen: 'resource', trigger: 'test_trigger_resource_updated' },
      ]);
    }
    const shape =
      flow.kind === 'mrtr' ? `multi round-trip ${flow.name}, ${flow.ending}` : `listen for ${flow.listen}, then ${flow.trigger}`;
    return { index, method: 'POST', context: `POST [${shape}]`, shape, headers: {}, body: undefined, facts: this.#facts('POST', {}), flow };
  }

  /** A legacy message: initialize, a request, a notification or a response, with or without a version header. */
  #legacyMessage(): { message: JObj; shape: string } {
    const r = this.#prng;
    const kind = r.weighted<string>([
      [25, 'initialize'],
      [6, 'initialize with a broken claim'],
      [35, 'request'],
      [17, 'notification'],
      [10, 'response'],
    ]);
    const id = this.#freshId();
    switch (kind) {
      case 'initialize':
      case 'initialize with a broken claim': {
        const params = tree({
          protocolVersion: r.pick([...LEGACY_VERSIONS, '1999-01-01']),
          capabilities: {},
          clientInfo: { name: 'fuzz', version: '1' },
        }) as JObj;
        if (kind !== 'initialize') params.add('_meta', tree({ [META.protocolVersion]: MODERN_VERSION }));
        return { message: tree({ jsonrpc: '2.0', id, method: 'initialize', params }) as JObj, shape: `legacy ${kind}` };
      }
      case 'request': {
        const body = r.pick<unknown>([
          { jsonrpc: '2.0', id, method: 'tools/list' },
          { jsonrpc: '2.0', id, method: 'tools/list', params: {} },
          { jsonrpc: '2.0', id, method: 'resources/read', params: { uri: r.pick(['test://static-text', 'test://template/123/data']) } },
          { jsonrpc: '2.0', id, method: 'ping' },
          { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'test_simple_text', arguments: {} } },
          { jsonrpc: '2.0', id, method: 'fuzz/unknown' },
        ]);
        return { message: tree(body) as JObj, shape: `legacy request ${(body as { method: string }).method}` };
      }
      case 'notification':
        return {
          message: tree({ jsonrpc: '2.0', method: r.pick(['notifications/initialized', 'notifications/roots/list_changed']) }) as JObj,
          shape: 'legacy notification',
        };
      default:
        return { message: tree({ jsonrpc: '2.0', id: `nobody-asked-${this.#nextId++}`, result: {} }) as JObj, shape: 'posted response' };
    }
  }

  #legacyHeaders(headers: Record<string, string>, tags: string[]): void {
    const r = this.#prng;
    const version = r.weighted<string | undefined>([
      [45, undefined],
      [35, r.pick(LEGACY_VERSIONS)],
      [8, '1999-01-01'],
      [7, MODERN_VERSION],
      [5, 'banana'],
    ]);
    if (version !== undefined) {
      headers['mcp-protocol-version'] = version;
      tags.push(`MCP-Protocol-Version ${version}`);
    }
    if (r.chance(0.25)) {
      headers['mcp-session-id'] = `unknown-${this.#nextId++}`;
      tags.push('an unknown Mcp-Session-Id');
    }
  }

  #legacyPost(index: number): ModernCase {
    const { message, shape } = this.#legacyMessage();
    const headers: Record<string, string> = {};
    const tags: string[] = [];
    this.#legacyHeaders(headers, tags);
    const facts = this.#facts('POST', headers);
    facts.envelope = envelopeOf(message);
    this.#transportHeaders('POST', headers, facts, tags);
    return this.#post(index, message, shape, headers, facts, tags);
  }

  #batchPost(index: number): ModernCase {
    const r = this.#prng;
    const kind = r.weighted<string>([
      [40, 'legacy'],
      [35, 'mixed eras'],
      [15, '2026-07-28 only'],
      [10, 'empty'],
    ]);
    const entries: J[] = [];
    if (kind !== 'empty') {
      const size = r.int(1, 4);
      for (let i = 0; i < size; i += 1)
        entries.push(kind === '2026-07-28 only' ? this.#modernRequest().message : this.#legacyMessage().message);
      if (kind === 'mixed eras')
        entries.splice(r.int(0, entries.length), 0, r.chance(0.7) ? this.#modernRequest().message : this.#modernNotification().message);
    }
    const headers: Record<string, string> = {};
    const tags: string[] = [];
    this.#legacyHeaders(headers, tags);
    if (kind !== 'legacy' && r.chance(0.5)) {
      headers['mcp-protocol-version'] = MODERN_VERSION;
      headers['mcp-method'] = 'tools/call';
    }
    const facts = this.#facts('POST', headers);
    this.#transportHeaders('POST', headers, facts, tags);
    return this.#post(index, entries, `batch: ${kind}`, headers, facts, tags);
  }

  #otherMethod(index: number): ModernCase {
    const r = this.#prng;
    const method = r.weighted<string>([
      [45, 'GET'],
      [40, 'DELETE'],
      [15, r.pick(['PUT', 'PATCH'])],
    ]);
    const headers: Record<string, string> = {};
    const tags: string[] = [];
    if (r.chance(0.5)) {
      headers['mcp-session-id'] = `unknown-${this.#nextId++}`;
      tags.push('an unknown Mcp-Session-Id');
    }
    if (r.chance(0.4)) headers['mcp-protocol-version'] = r.pick([MODERN_VERSION, '2025-11-25']);
    const facts = this.#facts(method, headers);
    this.#transportHeaders(method, headers, facts, tags);
    return { index, method, context: `${method} [${tags.join(', ')}]`, shape: method, headers, body: undefined, facts };
  }

  #garbage(index: number): ModernCase {
    const r = this.#prng;
    const headers: Record<string, string> = { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': 'tools/call' };
    const tags: string[] = [];
    const facts = this.#facts('POST', headers);
    this.#transportHeaders('POST', headers, facts, tags);
    const valid = serialize(this.#modernRequest().message);
    const [shape, text] = r.pick<[string, string]>([
      ['invalid JSON: truncated', valid.slice(0, r.int(1, valid.length - 1))],
      ['invalid JSON: two messages', `${valid}${valid}`],
      ['empty body', ''],
      ['a JSON string', '"tools/call"'],
      ['a JSON number', '42'],
      ['null', 'null'],
      ['an object that is no JSON-RPC', '{"method":"tools/call","params":{"_meta":{}}}'],
    ]);
    const body = new TextEncoder().encode(text);
    facts.oversized = body.byteLength > this.#context.maxBodyBytes;
    facts.body = { decoding: 'clean', parsed: parseJson(text) };
    return { index, method: 'POST', context: `POST [${tags.join(', ')}]`, shape, headers, body, facts };
  }
}

/**
 * The envelope of a message as the 2026-07-28 schema reads it: `none` without a version claim,
 * `invalid` when a required key is missing or a known key has the wrong type.
 */
function envelopeOf(message: JObj): ModernFacts['envelope'] {
  const params = message.get('params');
  const meta = params instanceof JObj ? params.get('_meta') : undefined;
  if (!(meta instanceof JObj) || !meta.has(META.protocolVersion)) return 'none';
  if (typeof meta.get(META.protocolVersion) !== 'string') return 'invalid';
  const capabilities = meta.get(META.clientCapabilities);
  if (!(capabilities instanceof JObj)) return 'invalid';
  if (CAPABILITIES.some((capability) => capabilities.has(capability) && !(capabilities.get(capability) instanceof JObj))) return 'invalid';
  if (meta.has(META.clientInfo)) {
    const info = meta.get(META.clientInfo);
    if (!(info instanceof JObj) || typeof info.get('name') !== 'string' || typeof info.get('version') !== 'string') return 'invalid';
  }
  if (meta.has(META.logLevel) && !LOG_LEVELS_ALL.includes(meta.get(META.logLevel) as string)) return 'invalid';
  return 'valid';
}

function parseJson(text: string): BodyFacts['parsed'] {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}
