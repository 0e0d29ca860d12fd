/**
 * The one YAML file both the Ruby shims and the sidecar read. Anything
 * unknown or malformed stops start-up with an error naming the key and the value.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { access, constants as fsConstants, stat } from 'node:fs/promises';
import { delimiter as pathDelimiter } from 'node:path';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from './errors.ts';
import { parseDuration } from './duration.ts';
import { jsPattern } from './interface/patterns.ts';
import { metricsConfig, type MetricsConfig } from './metrics-server.ts';

export interface DatabaseConfig {
  readonly host: string | undefined;
  readonly port: number;
  readonly socket_path: string | undefined;
  readonly user: string;
  readonly password: string;
  readonly name: string;
  readonly pool_size: number;
}

export interface Config {
  readonly file: string;
  readonly socket: string;
  readonly state_dir: string;
  readonly database: DatabaseConfig | undefined;
  readonly aws: {
    readonly region: string;
    /** EC2's endpoint; the other services have theirs under `endpoints`. */
    readonly endpoint: string | undefined;
    readonly endpoints: { readonly ssm: string | undefined; readonly autoscaling: string | undefined };
    readonly profile: string | undefined;
  };
  readonly puppet: {
    readonly server: string | undefined;
    readonly port: number;
    readonly hostcert: string | undefined;
    readonly hostprivkey: string | undefined;
    readonly localcacert: string | undefined;
    /** `pe` pins bake nodes through the PE classifier; `none` leaves it to the pp_role trusted fact. */
    readonly classifier: 'pe' | 'none';
  };
  readonly bake: {
    readonly report_timeout_ms: number;
    readonly concurrency: number;
    readonly ssh_port: number;
    readonly poll_interval_ms: number;
    readonly lease_ms: number;
  };
  readonly metrics: MetricsConfig;
}

const DEFAULT_CONFIG_FILE = '/etc/puppetlabs/puppet/autoami.yaml';

/** `--config`, then `$AUTOAMI_CONFIG`, then the default beside puppet.conf. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.AUTOAMI_CONFIG ?? DEFAULT_CONFIG_FILE;
}

/** An executable `name` in one of `path`'s directories, as a shell would find it. */
async function onPath(name: string, path: string | undefined): Promise<string | undefined> {
  for (const dir of (path ?? '').split(pathDelimiter)) {
    if (!dir.startsWith('/')) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, fsConstants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const isFile = (path: string) => stat(path).then((info) => info.isFile(), () => false);

/**
 * The config file: `--config`, then `$AUTOAMI_CONFIG`, then `autoami.yaml` in the confdir
 * Puppet itself reports (`puppet config print confdir`, `puppet` from $PATH: /etc/puppet on
 * Debian's packages, /etc/puppetlabs/puppet with Puppet's own), then `fallback`
 * (/etc/puppetlabs/puppet/autoami.yaml) if it exists. Neither there: one line naming what
 * was tried.
 */
export async function resolveConfigPath(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  options: { fallback?: string; timeoutMs?: number } = {},
): Promise<string> {
  const given = flag ?? (env.AUTOAMI_CONFIG || undefined);
  if (given !== undefined) return given;
  const fallback = options.fallback ?? DEFAULT_CONFIG_FILE;
  const tried: string[] = [];
  const puppet = await onPath('puppet', env.PATH);
  if (puppet === undefined) {
    tried.push('`puppet config print confdir` (no puppet on PATH)');
  } else {
    // Only bounds a hang: Puppet answers in a second or two.
    const confdir = await new Promise<string>((resolve) =>
      execFile(puppet, ['config', 'print', 'confdir'], { env, encoding: 'utf8', timeout: options.timeoutMs ?? 120_000 }, (error, stdout, stderr) => {
        const printed = error ? '' : (stdout.trim().split('\n').pop()?.trim() ?? '');
        if (printed.startsWith('/')) return resolve(printed);
        const why = error ? (stderr.trim().split('\n')[0] || error.message.split('\n')[0]) : `printed ${JSON.stringify(stdout.trim().slice(0, 80))}`;
        tried.push(`\`${puppet} config print confdir\` (${why})`);
        resolve('');
      }),
    );
    if (confdir !== '') {
      const file = join(confdir, 'autoami.yaml');
      if (await isFile(file)) return file;
      tried.push(`${file} (puppet's confdir; missing)`);
    }
  }
  if (await isFile(fallback)) return fallback;
  tried.push(`${fallback} (missing)`);
  throw new ConfigError('(file)', `no config file: give --config FILE or set AUTOAMI_CONFIG; tried ${tried.join(', ')}`);
}

type Raw = Record<string, unknown>;

function section(raw: Raw, key: string, allowed: readonly string[], path = key): Raw | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(path, `expected a mapping, got ${JSON.stringify(value)}`);
  const mapping = value as Raw;
  for (const sub of Object.keys(mapping)) {
    if (!allowed.includes(sub)) throw new ConfigError(`${path}.${sub}`, `unknown key (known: ${allowed.join(', ')})`);
  }
  return mapping;
}

/** `secret`: the value is a password, so a wrong one is named by its type, never shown. */
function str(raw: Raw | undefined, key: string, path: string, secret = false): string | undefined {
  const value = raw?.[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    const shown = secret ? `a ${Array.isArray(value) ? 'list' : typeof value} (value hidden)` : JSON.stringify(value);
    throw new ConfigError(path, `expected a non-empty string, got ${shown}`);
  }
  return value;
}

function absolute(raw: Raw | undefined, key: string, path: string): string | undefined {
  const value = str(raw, key, path);
  if (value !== undefined && !value.startsWith('/')) throw new ConfigError(path, `expected an absolute path, got ${JSON.stringify(value)}`);
  return value;
}

function url(raw: Raw | undefined, key: string, path: string): string | undefined {
  const value = str(raw, key, path);
  if (value !== undefined && !/^https?:\/\/[^\s]+$/.test(value)) throw new ConfigError(path, `expected an http(s) URL, got ${JSON.stringify(value)}`);
  return value;
}

function int(raw: Raw | undefined, key: string, path: string, fallback: number, min: number, max: number): number {
  const value = raw?.[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(path, `expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

async function databasePassword(raw: Raw, configFile: string): Promise<string> {
  const inline = str(raw, 'password', 'database.password', true);
  const file = absolute(raw, 'password_file', 'database.password_file');
  if (inline !== undefined && file !== undefined) throw new ConfigError('database.password_file', 'give either password or password_file, not both');
  if (file === undefined) return inline ?? '';
  try {
    return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError('database.password_file', `cannot read ${JSON.stringify(file)} (named in ${configFile})`, error);
  }
}

async function database(raw: Raw, file: string): Promise<DatabaseConfig | undefined> {
  const db = section(raw, 'database', ['host', 'port', 'socket_path', 'user', 'password', 'password_file', 'name', 'pool_size']);
  if (!db) return undefined;
  const host = str(db, 'host', 'database.host');
  const socket_path = absolute(db, 'socket_path', 'database.socket_path');
  if (host !== undefined && socket_path !== undefined) throw new ConfigError('database.socket_path', 'give either host or socket_path, not both');
  const user = str(db, 'user', 'database.user');
  if (user === undefined) throw new ConfigError('database.user', 'is required when database is set');
  const name = str(db, 'name', 'database.name') ?? 'autoami';
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(name)) throw new ConfigError('database.name', `${JSON.stringify(name)} is not a valid database name`);
  return {
    host: socket_path === undefined ? (host ?? 'localhost') : undefined,
    port: int(db, 'port', 'database.port', 3306, 1, 65535),
    socket_path,
    user,
    password: await databasePassword(db, file),
    name,
    pool_size: int(db, 'pool_size', 'database.pool_size', 10, 1, 200),
  };
}

const TOP_KEYS = ['socket', 'state_dir', 'database', 'aws', 'puppet', 'bake', 'metrics'];

/** Puppet Enterprise writes its version here; open-source Puppet Server has no such file. */
const PE_VERSION_FILE = '/opt/puppetlabs/server/pe_version';

export interface ConfigDefaults {
  /** Where to look for Puppet Enterprise when `puppet.classifier` is not given. */
  readonly peVersionFile?: string;
}

export async function parseConfig(text: string, file: string, defaults: ConfigDefaults = {}): Promise<Config> {
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (error) {
    // The parser's message goes on to quote the offending source line, which may hold the
    // database password: keep only its first line, which says what is wrong and where.
    const reason = (error as Error).message.split('\n')[0]!.replace(/:$/, '');
    throw new ConfigError('(file)', `${file} is not valid YAML: ${reason}`, error);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('(file)', `${file} must hold a mapping`);
  const top = raw as Raw;
  for (const key of Object.keys(top)) {
    if (!TOP_KEYS.includes(key)) throw new ConfigError(key, `unknown key (known: ${TOP_KEYS.join(', ')})`);
  }
  const aws = section(top, 'aws', ['region', 'endpoint', 'endpoints', 'profile']);
  const endpoint = url(aws, 'endpoint', 'aws.endpoint');
  const endpoints = aws === undefined ? undefined : section(aws, 'endpoints', ['ssm', 'autoscaling'], 'aws.endpoints');
  const region = str(aws, 'region', 'aws.region') ?? 'us-east-1';
  if (!jsPattern('region').test(region)) throw new ConfigError('aws.region', `${JSON.stringify(region)} is not an AWS region`);
  const puppet = section(top, 'puppet', ['server', 'port', 'hostcert', 'hostprivkey', 'localcacert', 'classifier']);
  const bake = section(top, 'bake', ['report_timeout', 'concurrency', 'ssh_port', 'poll_interval', 'lease']);
  // Pinning needs a PE console: assumed on an open-source master it made every bake fail.
  const classifier = str(puppet, 'classifier', 'puppet.classifier') ?? (existsSync(defaults.peVersionFile ?? PE_VERSION_FILE) ? 'pe' : 'none');
  if (classifier !== 'pe' && classifier !== 'none') throw new ConfigError('puppet.classifier', `expected pe or none, got ${JSON.stringify(classifier)}`);
  const duration = (key: string, fallback: number) => (bake?.[key] === undefined ? fallback : parseDuration(bake[key], `bake.${key}`));
  const stateDir = absolute(top, 'state_dir', 'state_dir') ?? '/var/lib/autoami';
  return {
    file,
    socket: absolute(top, 'socket', 'socket') ?? '/run/autoami/autoami.sock',
    state_dir: stateDir,
    database: await database(top, file),
    aws: {
      region,
      endpoint,
      endpoints: { ssm: url(endpoints, 'ssm', 'aws.endpoints.ssm'), autoscaling: url(endpoints, 'autoscaling', 'aws.endpoints.autoscaling') },
      profile: str(aws, 'profile', 'aws.profile'),
    },
    puppet: {
      server: str(puppet, 'server', 'puppet.server'),
      port: int(puppet, 'port', 'puppet.port', 8140, 1, 65535),
      hostcert: absolute(puppet, 'hostcert', 'puppet.hostcert'),
      hostprivkey: absolute(puppet, 'hostprivkey', 'puppet.hostprivkey'),
      localcacert: absolute(puppet, 'localcacert', 'puppet.localcacert'),
      classifier,
    },
    bake: {
      report_timeout_ms: duration('report_timeout', 45 * 60_000),
      concurrency: int(bake, 'concurrency', 'bake.concurrency', 16, 1, 1024),
      ssh_port: int(bake, 'ssh_port', 'bake.ssh_port', 22, 1, 65535),
      poll_interval_ms: duration('poll_interval', 2000),
      lease_ms: duration('lease', 60_000),
    },
    metrics: metricsConfig(section(top, 'metrics', ['listen'])),
  };
}

export async function loadConfig(file: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError('(file)', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`, error);
  }
  return parseConfig(text, file);
}

export function embeddedStorePath(config: Config): string {
  return join(config.state_dir, 'store.json');
}
