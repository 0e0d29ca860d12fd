/**
 * Pins a bake node into its group's PE node group through the classifier API, logging in
 * to RBAC with the group's --enc-user/--enc-pass. Without a PE console the node's pp_role
 * trusted fact carries the group instead, and nothing is pinned.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError, PuppetApiError } from '../errors.ts';
import type { Group, GroupSettings } from '../store/store.ts';
import { httpsCall, ok, parseJson, statusError, type HttpsCall, type HttpsResponse } from './https.ts';
import type { Classifier, PinResult } from './types.ts';

export interface PeClassifierOptions {
  /** Path of the Puppet CA certificate, which issued the console's certificate; absent: system trust. */
  readonly localcacert: string | undefined;
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

// Tokens are asked for with a 10 minute life and replaced a minute early, so none expires mid-call.
const TOKEN_LIFETIME = '10m';
const TOKEN_REUSE_MS = 9 * 60_000;

interface Console {
  readonly origin: URL;
  readonly login: string;
  readonly password: string;
}

export class PeClassifier implements Classifier {
  private readonly tokens = new Map<string, { readonly token: string; readonly until: number }>();

  constructor(private readonly options: PeClassifierOptions) {}

  async check(group: GroupSettings): Promise<void> {
    if (skipReason(group)) return;
    await this.groupId(consoleOf(group), group.node_group, true);
  }

  async pin(group: Group, certname: string): Promise<PinResult> {
    const skip = skipReason(group);
    if (skip) return { state: 'skipped', reason: skip };
    const console = consoleOf(group);
    const id = await this.groupId(console, group.node_group, true);
    await this.change(console, id!, 'pin', certname);
    return { state: 'pinned', groupId: id! };
  }

  async unpin(group: Group, certname: string): Promise<void> {
    if (skipReason(group)) return;
    const console = consoleOf(group);
    // A group that no longer exists holds no pin: cleaning up must not fail on it.
    const id = await this.groupId(console, group.node_group, false);
    if (id !== null) await this.change(console, id, 'unpin', certname);
  }

  private async change(console: Console, id: string, action: 'pin' | 'unpin', certname: string): Promise<void> {
    const { call, res } = await this.authed(console, 'POST', `groups/${encodeURIComponent(id)}/${action}`, { nodes: [certname] });
    if (!ok(res)) throw statusError(call, res, res.status === 403 ? `login ${JSON.stringify(console.login)} may not ${action} nodes in that group` : undefined);
  }

  private async groupId(console: Console, name: string, required: boolean): Promise<string | null> {
    const { call, res } = await this.authed(console, 'GET', 'groups');
    if (!ok(res)) throw statusError(call, res);
    const groups = parseJson<unknown>(call, res);
    if (!Array.isArray(groups)) throw new PuppetApiError(`${call.method} ${call.url.href} did not answer a list of node groups`, { status: res.status });
    const named = groups.filter((g): g is { id: string; name: string } => typeof g?.id === 'string' && typeof g?.name === 'string');
    const found = named.find((g) => g.name === name);
    if (found) return found.id;
    if (!required) return null;
    const known = named.map((g) => g.name).slice(0, 20);
    throw new PuppetApiError(`node group ${JSON.stringify(name)} does not exist on the PE console at ${console.origin.host} (it has: ${known.join(', ') || 'none'})`, { field: 'node_group' });
  }

  /** A classifier call with a token; a token revoked since it was cached is replaced once. */
  private async authed(console: Console, method: HttpsCall['method'], path: string, json?: unknown): Promise<{ call: HttpsCall; res: HttpsResponse }> {
    for (const fresh of [false, true]) {
      const call: HttpsCall = {
        method,
        url: new URL(`/classifier-api/v1/${path}`, console.origin),
        headers: { 'X-Authentication': await this.token(console, fresh) },
        json,
        tls: { ca: await this.ca() },
        timeoutMs: this.options.timeoutMs,
      };
      const res = await httpsCall(call);
      if (res.status !== 401 || fresh) return { call, res };
    }
    throw new Error('unreachable');
  }

  private async token(console: Console, fresh: boolean): Promise<string> {
    const now = (this.options.now ?? Date.now)();
    // Keyed on the password too, so a changed --enc-pass is tried rather than hidden by a cached token.
    const key = [console.origin.host, console.login, createHash('sha256').update(console.password).digest('hex')].join('\0');
    const cached = this.tokens.get(key);
    if (cached && !fresh && cached.until > now) return cached.token;
    const call: HttpsCall = {
      method: 'POST',
      url: new URL('/rbac-api/v1/auth/token', console.origin),
      json: { login: console.login, password: console.password, lifetime: TOKEN_LIFETIME },
      tls: { ca: await this.ca() },
      timeoutMs: this.options.timeoutMs,
    };
    const res = await httpsCall(call);
    if (res.status === 401) {
      this.tokens.delete(key);
      throw new PuppetApiError(`the console at ${console.origin.host} refused login ${JSON.stringify(console.login)} (check --enc-user/--enc-pass)`, { status: 401, field: 'enc_pass' });
    }
    if (!ok(res)) throw statusError(call, res);
    const { token } = parseJson<{ token?: unknown }>(call, res) ?? {};
    if (typeof token !== 'string' || token === '') throw new PuppetApiError(`${call.method} ${call.url.href} answered without a token`, { status: res.status });
    this.tokens.set(key, { token, until: now + TOKEN_REUSE_MS });
    return token;
  }

  private async ca(): Promise<string | undefined> {
    const path = this.options.localcacert;
    if (path === undefined) return undefined;
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigError('puppet.localcacert', `cannot read ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? error}`, error);
    }
  }
}

function skipReason(group: GroupSettings): string | null {
  if (!group.node_group || !group.enc_user) return `group ${group.name} names no --node-group/--enc-user: pp_role carries the group`;
  return null;
}

function consoleOf(group: GroupSettings): Console {
  const host = group.enc_server ?? group.puppetserver;
  return { origin: new URL(`https://${host.includes(':') ? `[${host}]` : host}:${group.enc_port}`), login: group.enc_user, password: group.enc_pass };
}

export class NoClassifier implements Classifier {
  async check(_group: GroupSettings): Promise<void> {}

  async pin(_group: Group, _certname: string): Promise<PinResult> {
    return { state: 'skipped', reason: 'no PE console: pp_role carries the group' };
  }

  async unpin(_group: Group, _certname: string): Promise<void> {}
}
