/**
 * Hostile requests for the sidecar, generated from the one interface definition so every
 * method and every parameter gets them. Deterministic: a seeded PRNG picks the junk bytes
 * and the order, so a failure names a case that the next run sends again.
 *
 * Each case says what a correct sidecar answers. Whether a value is legal is judged from
 * the field's declared constraints (type, length, control characters, pattern), not by
 * calling the sidecar's own validator, so the battery checks the wire against the definition.
 */
import { ErrorCode } from '../../runtime/errors.ts';
import { faces } from '../../runtime/interface/faces.ts';
import { methods, type MethodDef } from '../../runtime/interface/methods.ts';
import type { FieldDef } from '../../runtime/interface/schema.ts';
import { MAX_LINE_BYTES } from '../../runtime/protocol.ts';
import { prng } from './prng.ts';

export type Expect =
  /** One error reply with this code; `field` is data.field (and the message's prefix for -32602). */
  | { readonly kind: 'error'; readonly code: number; readonly field?: string; readonly secret?: string }
  /**
   * Passes validation: a result, or a domain error about something else (e.g. an unknown
   * group). `stored`: what a created group must then hold (the default when sent null).
   */
  | { readonly kind: 'legal'; readonly method: string; readonly field: string; readonly stored: unknown }
  /** No reply at all: notifications and blank lines. */
  | { readonly kind: 'silent' };

export interface HostileCase {
  readonly name: string;
  /** The bytes sent, newline included. */
  readonly line: Buffer;
  readonly expect: Expect;
}

export interface CaseContext {
  /** Shell payloads touch files here; any file appearing means a value reached a shell. */
  readonly markerDir: string;
  /** A readable key file, so group.create's baseline is valid. */
  readonly keyfile: string;
  /** The certname of a bake waiting in the store, so csr.check parses the hostile CSRs. */
  readonly waitingCertname: string;
  readonly seed?: number;
}

/** The group the legal group.create cases create (and the battery deletes again). */
export const PROBE_GROUP = 'probe';

/** Valid params for each method, chosen so that a valid call changes nothing in the store. */
function baselines(context: CaseContext): Record<string, Record<string, unknown>> {
  return {
    hello: { protocol: 1, client: 'hostile-battery' },
    'group.create': {
      name: PROBE_GROUP, image: 'ami-0abc1234', type: 't3.micro', keyname: 'deploy', keyfile: context.keyfile, login: 'ec2-user',
      puppetserver: 'puppet.example.com', node_group: 'wordpress', enc_user: 'admin', enc_pass: 'secret',
    },
    'group.delete': { name: 'nosuch' },
    'group.list': {},
    status: {},
    'image.list': {},
    // No such instance: legal descriptions end in "no running instance", never in an image.
    'image.create': { server: 'i-0123456789abcdef0', description: 'probe', manifest_version: '1' },
    'group.launch': { name: 'nosuch' },
    'bake.list': {},
    // noop and an unknown group: whatever else a case changes, nothing is launched.
    'bake.run': { groups: ['nosuch'], noop: true },
    'group.history': { name: 'seed' },
    'group.rollback': { name: 'nosuch' },
    // No such group: a legal change or promotion finds nothing to change or publish.
    'group.update': { name: 'nosuch' },
    'group.promote': { name: 'nosuch', channel: 'prod' },
    // Not a bake's certname: a legal report is ignored, never recorded.
    'report.submit': { host: 'web01.example.com', transaction_uuid: 'u-1', status: 'changed', changed: 1, failed: 0 },
    'csr.check': { certname: context.waitingCertname, csr: '-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n' },
  };
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** Would this string pass the field's declared constraints? Only free-text fields take metacharacters. */
function legalString(field: FieldDef, value: string): boolean {
  if (value.length === 0 || value.length > (field.maxLength ?? 1024) || !value.isWellFormed()) return false;
  if ((field.multiline ? CONTROL_BUT_LINES : CONTROL).test(value)) return false;
  // Every hostile value is built to miss every pattern and enum, and none is an absolute path.
  return !field.pattern && !field.values && !field.check;
}

function hostileStrings(marker: string, random: () => number): [string, string][] {
  const junk = Array.from({ length: 24 }, () => String.fromCodePoint(0x21 + Math.floor(random() * 0x2fff))).join('');
  return [
    ['SQL quote', "'; DROP TABLE groups; --"],
    ['SQL tautology', '" OR 1=1 -- '],
    ['SQL comment and union', "x' UNION SELECT enc_pass FROM `groups` #"],
    ['command substitution', `$(touch ${marker}/subst)`],
    ['backticks', `\`touch ${marker}/tick\``],
    ['shell separators', `a; touch ${marker}/semi | touch ${marker}/pipe && b`],
    ['newline then command', `a\ntouch ${marker}/newline`],
    ['NUL byte', 'a\u0000b'],
    ['terminal escape', '\u001b[31mred\u001b[0m'],
    ['DEL and C1 controls', 'a\u007f\u0085b'],
    ['lone surrogate', 'a\ud800b'],
    ['empty', ''],
    ['64 KiB', 'A'.repeat(65_536 + 1)],
    ['unicode', 'ünïcødé ☃ 𝄞 مرحبا'],
    ['random printable junk', `~${junk}`],
    ['format specifiers', '%s%n%x %{name} {{name}} ${name}'],
  ];
}

const WRONG_TYPES: [string, unknown][] = [
  ['number', 42], ['float', 1.5], ['boolean', true], ['empty list', []], ['list', ['x']], ['object', {}],
  ['operator object', { $ne: null }], ['deep list (10 000)', 'DEEP_LIST'], ['deep object (10 000)', 'DEEP_OBJECT'],
];
const BAD_INTEGERS: [string, unknown][] = [
  ['numeric string', '443'], ['float', 1.5], ['unsafe integer', 2 ** 53], ['huge literal', 'HUGE_NUMBER'],
  ['below minimum', -1], ['above maximum', 10_000_001_000], ['boolean', true], ['SQL string', '1; DROP TABLE groups'], ['list', [1]],
];
const BAD_BOOLEANS: [string, unknown][] = [['string', 'true'], ['one', 1], ['zero', 0], ['shell string', '$(reboot)'], ['object', {}]];

const nestedObject = (depth: number): unknown => (depth === 0 ? 1 : { a: nestedObject(depth - 1) });

const DEEP = 10_000;
// Placeholders replaced in the serialised line: deep values and literals JSON.stringify cannot write.
const LITERALS: Record<string, string> = {
  '"DEEP_LIST"': '['.repeat(DEEP) + ']'.repeat(DEEP),
  '"DEEP_OBJECT"': '{"a":'.repeat(DEEP) + '1' + '}'.repeat(DEEP),
  '"HUGE_NUMBER"': '123456789012345678901234567890',
};

function request(id: number | undefined, method: string, params: unknown): string {
  let text = JSON.stringify({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), method, params });
  for (const [token, literal] of Object.entries(LITERALS)) text = text.split(token).join(literal);
  return text;
}

const line = (text: string | Buffer): Buffer => Buffer.concat([Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'), Buffer.from('\n')]);
const invalid = (field: string, secret?: string): Expect => ({ kind: 'error', code: ErrorCode.InvalidParams, field, ...(secret ? { secret } : {}) });

const INVALID_UTF8: number[][] = [[0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80]];

/** Cases for one method: every parameter gets every hostile value of its type. */
function methodCases(method: MethodDef, base: Record<string, unknown>, context: CaseContext, random: () => number, next: () => number): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (name: string, params: unknown, expect: Expect) => cases.push({ name: `${method.name} ${name}`, line: line(request(next(), method.name, params)), expect });
  const judge = (name: string, field: FieldDef, value: unknown): Expect => {
    const secret = field.secret && typeof value === 'string' && value.length > 3 ? value : undefined;
    // A list left out is an empty list, as validation fills it in.
    if (value === null) return field.required ? invalid(name) : { kind: 'legal', method: method.name, field: name, stored: field.default ?? (field.type === 'string[]' ? [] : null) };
    if (typeof value === 'string' && legalString(field, value)) return { kind: 'legal', method: method.name, field: name, stored: value };
    return invalid(name, secret);
  };
  for (const [name, field] of Object.entries(method.params)) {
    const mutate = (value: unknown) => ({ ...base, [name]: value });
    const strings = hostileStrings(context.markerDir, random);
    if (field.type === 'string' || field.type === 'string[]') {
      const list = field.type === 'string[]';
      for (const [label, value] of strings) add(`${name}=${label}`, mutate(list ? [value] : value), judge(list ? `${name}[0]` : name, field, value));
      for (const [label, value] of WRONG_TYPES) {
        // A list field takes a list, so the wrong types go into its first entry instead.
        if (list) add(`${name}=[${label}]`, mutate([value]), invalid(`${name}[0]`));
        else add(`${name}=${label}`, mutate(value), invalid(name));
      }
      if (list) {
        for (const [label, value] of [['a plain string', 'a,b'], ['number', 42], ['object', { 0: 'a' }], ['deep object (10 000)', 'DEEP_OBJECT']] as const) {
          add(`${name}=${label}`, mutate(value), invalid(name));
        }
        add(`${name}=257 entries`, mutate(Array.from({ length: 257 }, (_, index) => `g${index}`)), invalid(name));
      }
      // Raw bytes that are not UTF-8 at all: the line cannot even be decoded.
      const bytes = INVALID_UTF8[Math.floor(random() * INVALID_UTF8.length)]!;
      const [before, after] = request(next(), method.name, mutate(list ? ['RAW_BYTES'] : 'RAW_BYTES')).split('RAW_BYTES') as [string, string];
      cases.push({
        name: `${method.name} ${name}=invalid UTF-8 ${Buffer.from(bytes).toString('hex')}`,
        line: line(Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)])),
        expect: { kind: 'error', code: ErrorCode.ParseError },
      });
    } else if (field.type === 'json') {
      // Any object of bounded depth and length is a legal value; everything else is refused.
      for (const [label, value] of WRONG_TYPES.filter(([label]) => label !== 'object' && label !== 'operator object')) add(`${name}=${label}`, mutate(value), invalid(name));
      for (const [label, value] of [['string', '{}'], ['deep object (33)', nestedObject(33)], ['longer than allowed', { blob: 'x'.repeat(field.maxLength ?? 1024) }]] as const) {
        add(`${name}=${label}`, mutate(value), invalid(name));
      }
    } else {
      for (const [label, value] of field.type === 'integer' ? BAD_INTEGERS : BAD_BOOLEANS) add(`${name}=${label}`, mutate(value), invalid(name));
    }
    add(`${name}=null`, mutate(null), judge(name, field, null));
    if (field.required) {
      const { [name]: _dropped, ...rest } = base;
      add(`without ${name}`, rest, invalid(name));
    }
  }
  for (const key of ["'; DROP TABLE groups; --", '__proto__', 'constructor', `$(touch ${context.markerDir}/key)`]) {
    const text = `${request(next(), method.name, base).slice(0, -2)}${Object.keys(base).length ? ',' : ''}${JSON.stringify(key)}:1}}`;
    cases.push({ name: `${method.name} unknown param ${JSON.stringify(key)}`, line: line(text), expect: invalid(key) });
  }
  const notObjects = [
    ['list', [], ErrorCode.InvalidParams], ['string', 'x', ErrorCode.InvalidRequest], ['number', 7, ErrorCode.InvalidRequest], ['null', null, ErrorCode.InvalidRequest],
  ] as const;
  for (const [label, params, code] of notObjects) add(`params as ${label}`, params, { kind: 'error', code, field: 'params' });
  // A notification gets no answer, not even an error, and must not disturb the next call.
  cases.push({ name: `${method.name} hostile notification`, line: line(request(undefined, method.name, { ...base, 'x;rm -rf /': 1 })), expect: { kind: 'silent' } });
  // Lines of exactly the limit are read and judged; one byte more is refused unread.
  const padField = Object.entries(method.params).find(([, field]) => field.type === 'string')?.[0] ?? 'pad';
  const id = next();
  const room = MAX_LINE_BYTES - Buffer.byteLength(request(id, method.name, { ...base, [padField]: '' }));
  const padded = (bytes: number, lineId: number) => line(request(lineId, method.name, { ...base, [padField]: 'x'.repeat(bytes) }));
  cases.push({ name: `${method.name} ${padField} padded to exactly 1 MiB`, line: padded(room, id), expect: invalid(padField) });
  cases.push({ name: `${method.name} line of 1 MiB + 1 byte`, line: padded(room + 1, next()), expect: { kind: 'error', code: ErrorCode.RequestTooLarge } });
  return cases;
}

/** Lines that are not a request at all. */
function rawCases(context: CaseContext, random: () => number): HostileCase[] {
  const junk = Buffer.from(Array.from({ length: 300 }, () => Math.floor(random() * 256)).filter((byte) => byte !== 10));
  const parse = { kind: 'error', code: ErrorCode.ParseError } as const;
  const request_ = (field?: string): Expect => ({ kind: 'error', code: ErrorCode.InvalidRequest, ...(field ? { field } : {}) });
  const raw: [string, string | Buffer, Expect][] = [
    ['SQL', 'DROP TABLE groups;', parse],
    ['shell', `$(touch ${context.markerDir}/raw)`, parse],
    ['half an object', '{"jsonrpc":"2.0","id":1,', parse],
    // UTF-8 decoding drops a leading byte order mark, as WHATWG decoders do: the call is served.
    ['byte order mark', '\ufeff{"jsonrpc":"2.0","id":1,"method":"status"}', { kind: 'legal', method: 'status', field: 'line', stored: null }],
    ['NUL bytes', Buffer.alloc(64), parse],
    ['random bytes', junk, parse],
    ['a number', '42', request_()],
    ['null', 'null', request_()],
    ['a string', '"status"', request_()],
    ['a batch', '[{"jsonrpc":"2.0","id":1,"method":"status"}]', request_()],
    ['a deep batch', '['.repeat(DEEP) + ']'.repeat(DEEP), request_()],
    ['JSON-RPC 1.0', '{"jsonrpc":"1.0","id":1,"method":"status"}', request_('jsonrpc')],
    ['no method', '{"jsonrpc":"2.0","id":1}', request_('method')],
    ['numeric method', '{"jsonrpc":"2.0","id":1,"method":42}', request_('method')],
    ['object id', '{"jsonrpc":"2.0","id":{"$gt":""},"method":"status"}', request_('id')],
    ['infinite id', '{"jsonrpc":"2.0","id":1e400,"method":"status"}', request_('id')],
    ['deep id', `{"jsonrpc":"2.0","id":${'['.repeat(DEEP)}${']'.repeat(DEEP)},"method":"status"}`, request_('id')],
    ['SQL method', `{"jsonrpc":"2.0","id":1,"method":"'; DROP TABLE groups; --"}`, { kind: 'error', code: ErrorCode.MethodNotFound, field: 'method' }],
    ['prototype method', '{"jsonrpc":"2.0","id":1,"method":"__proto__"}', { kind: 'error', code: ErrorCode.MethodNotFound, field: 'method' }],
    ['method with NUL', '{"jsonrpc":"2.0","id":1,"method":"group.list\\u0000"}', { kind: 'error', code: ErrorCode.MethodNotFound, field: 'method' }],
    ['half-MiB method', `{"jsonrpc":"2.0","id":1,"method":"${'m'.repeat(512 * 1024)}"}`, { kind: 'error', code: ErrorCode.MethodNotFound, field: 'method' }],
    ['5 MiB line', `{"jsonrpc":"2.0","id":1,"method":"status","params":{"x":"${'x'.repeat(5 * 1024 * 1024)}"}}`, { kind: 'error', code: ErrorCode.RequestTooLarge }],
    ['blank line of spaces, tabs and CR', ' \t \r', { kind: 'silent' }],
  ];
  return raw.map(([name, text, expect]) => ({ name: `raw ${name}`, line: line(text), expect }));
}

/** Every case, in a seeded shuffle so heavy ones are spread over the run (for the RSS samples). */
export function hostileCases(context: CaseContext): HostileCase[] {
  const random = prng(context.seed ?? 0x5eed);
  let id = 1000;
  const next = () => ++id;
  const base = baselines(context);
  const cases = [...methods.flatMap((method) => methodCases(method, base[method.name]!, context, random, next)), ...rawCases(context, random)];
  for (let index = cases.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [cases[index], cases[other]] = [cases[other]!, cases[index]!];
  }
  return cases;
}

export interface FaceCase {
  readonly name: string;
  /** `puppet` arguments; RAW_UTF8 marks where the runner puts bytes that are not UTF-8. */
  readonly args: readonly string[];
  /** The one `Error:` line expected on stderr. */
  readonly error: RegExp;
  /** Must not appear in any output. */
  readonly secret?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export const RAW_UTF8 = '__RAW_UTF8__';

/** One hostile value per face option and positional, rotating through pools that every field refuses. */
export function faceCases(context: CaseContext): FaceCase[] {
  const marker = `${context.markerDir}/face`;
  const patterned = ["'; DROP TABLE groups; --", `$(touch ${marker})`, `\`touch ${marker}\``, 'a|b;c&&d', '" OR 1=1 --', '☃'];
  // Free-text fields take metacharacters as they are, so they get what no field takes.
  const freeText = [`x\n$(touch ${marker})`, '\u001b[2J', 'A'.repeat(100_000), ''];
  const integers = ['1; DROP TABLE groups', `$(touch ${marker})`, '99999999999999999999999', '0', '1.5'];
  const base = baselines(context);
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const cases: FaceCase[] = [];
  let turn = 0;
  for (const face of faces) {
    for (const action of face.actions) {
      const method = methods.find((each) => each.name === action.method)!;
      const params = Object.entries(method.params).filter(([, field]) => !field.puppetSetting);
      const flag = (name: string) => `--${name.replace(/_/g, '-')}`;
      const argsWith = (hostile: string, value: string | null): string[] => {
        const args: string[] = [face.name, action.name];
        for (const name of action.positional) args.push(name === hostile ? value! : String(base[method.name]![name]));
        for (const [name, field] of params) {
          if (action.positional.includes(name)) continue;
          if (name === hostile) args.push(value === null ? `${flag(name)}=$(touch ${marker})` : flag(name), ...(value === null ? [] : [value]));
          else if (field.required) args.push(flag(name), String(base[method.name]![name]));
        }
        return args;
      };
      for (const [name, field] of params) {
        turn++;
        const label = `${face.name} ${action.name} ${action.positional.includes(name) ? name : flag(name)}`;
        if (field.type === 'boolean') {
          // A flag takes no value: Puppet's own option parser refuses `--flag=value`, naming it.
          const error = new RegExp(`^Error: Could not parse application options: needless argument: ${flag(name)}=`);
          cases.push({ name: `${label}=value`, args: argsWith(name, null), error });
          continue;
        }
        // An integer the field allows (0 is a legal percentage) is no hostile value for it.
        const allowed = (text: string) => /^-?\d+$/.test(text) && Number(text) >= (field.min ?? -Infinity) && Number(text) <= (field.max ?? Infinity);
        const pool = field.type === 'integer' ? integers.filter((text) => !allowed(text)) : field.pattern || field.values || field.check ? patterned : freeText;
        const value = field.type === 'string[]' ? `nosuch,$(touch ${marker})` : pool[turn % pool.length]!;
        const secret = field.secret && value.length > 3 ? value : undefined;
        const error = new RegExp(`^Error: ${escape(name)}(\\[\\d+\\])?: `);
        cases.push({ name: `${label} ${JSON.stringify(value.slice(0, 30))}`, args: argsWith(name, value), error, ...(secret ? { secret } : {}) });
      }
    }
  }
  // Puppet's own option and its own check of the command line, before any face code runs.
  const unknownRendering = /^Error: Could not parse application options: I don't know how to render/;
  cases.push({ name: 'autoami groups --render-as shell', args: ['autoami', 'groups', '--render-as', `$(touch ${marker})`], error: unknownRendering });
  cases.push({ name: 'node_aws images --render-as SQL', args: ['node_aws', 'images', '--render-as', "'; DROP TABLE groups; --"], error: unknownRendering });
  const groupOptions = Object.entries(base['group.create']!).filter(([name]) => name !== 'name');
  const newGroup = ['autoami', 'new_group', ...groupOptions.flatMap(([name, value]) => [`--${name.replace(/_/g, '-')}`, String(value)]), 'hostile'];
  newGroup[newGroup.indexOf('--keyname') + 1] = `de${RAW_UTF8}ploy`;
  // In a UTF-8 locale Puppet refuses such argv itself; in the C locale the face gets it.
  const puppetRefuses = /^Error: Could not initialize global default settings: invalid byte sequence in UTF-8$/;
  cases.push({ name: 'new_group --keyname not UTF-8, UTF-8 locale', args: newGroup, env: { LC_ALL: 'C.UTF-8' }, error: puppetRefuses });
  cases.push({ name: 'new_group --keyname not UTF-8, C locale', args: newGroup, env: { LC_ALL: 'C' }, error: /^Error: keyname: is not valid UTF-8 text$/ });
  return cases;
}
