/**
 * A stand-in for the PE console's RBAC token endpoint and the classifier's group, pin and
 * unpin endpoints, over real HTTPS with a certificate from the test CA. Replies follow the
 * PE shapes: `{kind, msg}` errors, 204 for pin/unpin.
 */
import { randomUUID } from 'node:crypto';
import { listenHttps } from './https-stand-in.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Pki } from './pki.ts';

export interface PeConsoleOptions {
  /** login → password */
  readonly users: Readonly<Record<string, string>>;
  readonly groups: readonly { readonly id: string; readonly name: string }[];
}

export interface ConsoleCall {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The request body as sent, so tests can see a password never leaves where it belongs. */
  readonly body: string;
}

export interface PeConsoleStandIn {
  readonly port: number;
  readonly calls: ConsoleCall[];
  /** Logins each issued token belongs to, in issue order. */
  readonly issued: string[];
  pinned(groupId: string): string[];
  /** As if an administrator revoked every token. */
  revokeTokens(): void;
  close(): Promise<void>;
}

export async function startPeConsole(pki: Pki, options: PeConsoleOptions): Promise<PeConsoleStandIn> {
  const tokens = new Map<string, string>();
  const pins = new Map<string, Set<string>>(options.groups.map((g) => [g.id, new Set<string>()]));
  const calls: ConsoleCall[] = [];
  const issued: string[] = [];

  const handle = (req: IncomingMessage, body: string, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0]!;
    const send = (status: number, payload?: unknown) => {
      calls.push({ method: req.method ?? '', path, status, body });
      if (payload === undefined) return res.writeHead(status).end();
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(payload));
    };
    const json = (): Record<string, unknown> | null => {
      try {
        const parsed = JSON.parse(body) as unknown;
        return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : null;
      } catch {
        return null;
      }
    };
    if (req.method === 'POST' && path === '/rbac-api/v1/auth/token') {
      const request = json();
      if (!request || typeof request.login !== 'string' || typeof request.password !== 'string') return send(400, { kind: 'puppetlabs.rbac/invalid-request', msg: 'login and password are required' });
      if (options.users[request.login] !== request.password) return send(401, { kind: 'puppetlabs.rbac/user-unauthenticated', msg: 'The username or password is incorrect.' });
      const token = randomUUID();
      tokens.set(token, request.login);
      issued.push(request.login);
      return send(200, { token });
    }
    if (!path.startsWith('/classifier-api/v1/')) return send(404, { kind: 'not-found', msg: `no route ${path}` });
    if (!tokens.has(String(req.headers['x-authentication'] ?? ''))) return send(401, { kind: 'puppetlabs.rbac/token-revoked', msg: 'Authentication is required.' });
    if (req.method === 'GET' && path === '/classifier-api/v1/groups') {
      return send(200, options.groups.map((g) => ({ id: g.id, name: g.name, parent: '00000000-0000-4000-8000-000000000000', rule: null, classes: {}, variables: {} })));
    }
    const action = /^\/classifier-api\/v1\/groups\/([^/]+)\/(pin|unpin)$/.exec(path);
    if (req.method === 'POST' && action) {
      const pinned = pins.get(decodeURIComponent(action[1]!));
      if (!pinned) return send(404, { kind: 'not-found', msg: `The group ${action[1]} does not exist.` });
      if (!String(req.headers['content-type']).startsWith('application/json')) return send(415, { kind: 'unsupported-type', msg: 'expected application/json' });
      const nodes = json()?.nodes;
      if (!Array.isArray(nodes) || !nodes.every((n) => typeof n === 'string')) return send(400, { kind: 'malformed-request', msg: 'nodes must be a list of certnames' });
      for (const node of nodes as string[]) action[2] === 'pin' ? pinned.add(node) : pinned.delete(node);
      return send(204);
    }
    return send(404, { kind: 'not-found', msg: `no route ${req.method} ${path}` });
  };

  const server = await listenHttps({ key: pki.server.keyPem, cert: pki.server.certPem }, handle);

  return {
    port: server.port,
    calls,
    issued,
    pinned: (groupId) => [...(pins.get(groupId) ?? [])],
    revokeTokens: () => tokens.clear(),
    close: () => server.close(),
  };
}
