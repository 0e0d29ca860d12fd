/**
 * The value shapes more than one language checks: the sidecar (TypeScript), the module's
 * Ruby, the class's Puppet data types and the bootstrap script (bash). Each is written once
 * here, unanchored, in the subset of regular expressions all four read alike (POSIX ERE:
 * groups, bracket classes, bounded repeats; no `\d`, no `(?:`, no look-around), and
 * rendered into each dialect by the functions below.
 */

/** EC2 resource ids: a prefix, then 8 hex digits (older ids) or 17 (current ones). */
const awsId = (prefix: string): string => `${prefix}-([0-9a-f]{8}|[0-9a-f]{17})`;

export const PATTERNS = {
  /** A group (role) name; it is also the first part of a bake's certname. */
  group_name: '[a-z][a-z0-9_-]{0,62}',
  image_id: awsId('ami'),
  instance_id: awsId('i'),
  subnet_id: awsId('subnet'),
  security_group_id: awsId('sg'),
  /** `us-east-1`, `eu-west-1`, `us-gov-west-1`. */
  region: '[a-z]{2}(-[a-z]+)+-[0-9]{1,2}',
  /** `500ms`, `90s`, `45m`, `1.5h`, `90d`: autoami.yaml's durations, the class's and `--deprecate-after`. */
  duration: '[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)',
  /** An AWS account id: exactly 12 digits. */
  account_id: '[0-9]{12}',
  /** The certname every bake instance takes: `<group>-<instance id>.autoami`. */
  certname: `[a-z][a-z0-9_-]{0,62}-${awsId('i')}\\.autoami`,
  /**
   * `IP:PORT` as the class takes `metrics_listen`: a dotted IPv4 address or anything
   * bracketed for IPv6, and a port from 1 to 65535. The sidecar checks the address itself
   * (node:net's isIP) and also takes port 0; this only keeps a name out of the class.
   */
  listen:
    '((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}|\\[[0-9A-Fa-f:.]+\\])' +
    ':([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])',
} as const;

export type PatternName = keyof typeof PATTERNS;

/** What each pattern accepts, in words for error messages. */
export const PATTERN_WORDS: Readonly<Record<PatternName, string>> = {
  group_name: 'a lower-case letter, then up to 62 of a-z, 0-9, _ and -',
  image_id: "'ami-' followed by 8 or 17 hex digits",
  instance_id: "'i-' followed by 8 or 17 hex digits",
  subnet_id: "'subnet-' followed by 8 or 17 hex digits",
  security_group_id: "'sg-' followed by 8 or 17 hex digits",
  region: 'an AWS region such as us-east-1',
  duration: 'a duration such as 45m, 30s, 1.5h, 500ms or 90d',
  account_id: 'a 12-digit AWS account id',
  certname: '<group>-<instance id>.autoami',
  listen: 'an IP address and a port such as 127.0.0.1:9777 or [::1]:9777',
};

export interface PuppetTypeDef {
  readonly pattern: PatternName;
  /** `Duration` for `Autoami::Duration`; its file is module/types/duration.pp. */
  readonly name: string;
  /** The type's puppet-strings summary, in Markdown. */
  readonly summary: string;
}

/** The patterns the class's parameters take, each as a Puppet data type of its own. */
export const PUPPET_TYPES: readonly PuppetTypeDef[] = [
  {
    pattern: 'duration',
    name: 'Duration',
    summary: 'A duration as autoami.yaml takes it: a number and a unit, `ms`, `s`, `m`, `h` or `d` (`500ms`, `90s`, `45m`, `1.5h`, `90d`).',
  },
  {
    pattern: 'listen',
    name: 'Listen',
    summary:
      "An address to serve on, `IP:PORT` as the sidecar's `metrics.listen` takes it: an IPv4 address or an IPv6 one in " +
      'brackets (not a name, which could resolve to another address), and a port from 1 to 65535: `127.0.0.1:9777`, `[::1]:9777`.',
  },
  { pattern: 'region', name: 'Region', summary: 'An AWS region name, such as `us-east-1`, `eu-west-1` or `us-gov-west-1`.' },
];

/** The whole value must match (JavaScript). */
export const jsPattern = (name: PatternName): RegExp => new RegExp(`^${PATTERNS[name]}$`);

/** Ruby and Puppet anchor on the whole string with `\A`/`\z`; `^`/`$` there match at any line. */
export const rubyPattern = (name: PatternName): string => `\\A${PATTERNS[name]}\\z`;

/** bash `[[ =~ ]]` takes POSIX ERE, where `^`/`$` are the string's ends. */
export const shellPattern = (name: PatternName): string => `^${PATTERNS[name]}$`;
