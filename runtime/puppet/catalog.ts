/**
 * Compiles a role's catalog on Puppet Server without launching anything: Puppet Server's
 * catalog API (v4, `POST /puppet/v4/catalog`), as the master itself. Its default auth.conf
 * denies that endpoint to everyone, so a rule must allow the master's certname (README).
 * Nothing is stored on the server: persistence is off for facts and catalog alike.
 */
import { Agent } from 'node:https';
import { describe, httpsCall, ok, parseJson, statusError, type HttpsCall } from './https.ts';
import { readMasterTls, serverOrigin, type MasterTlsPaths } from './master-tls.ts';

export interface CatalogServerOptions extends MasterTlsPaths {
  /** Puppet Server's port; the server itself is each group's own (`--puppetserver`). */
  readonly port: number;
  readonly timeoutMs?: number;
}

/** What a bake instance presents when its agent asks for a catalog. */
export interface CompileRequest {
  readonly certname: string;
  readonly environment: string;
  /** The facts as its agent sent them. */
  readonly facts: Readonly<Record<string, unknown>>;
  /** The extensions its certificate carries: pp_role, pp_instance_id. */
  readonly extensions: Readonly<Record<string, string>>;
}

export type CompileResult =
  | { readonly state: 'compiled'; readonly catalog: unknown; readonly ms: number }
  | { readonly state: 'not_compiled'; readonly reason: string };

/** The trusted facts Puppet Server derives from a certificate, as it would for `certname`. */
export function trustedFactsFor(certname: string, extensions: Readonly<Record<string, string>>) {
  const dot = certname.indexOf('.');
  return {
    authenticated: 'remote',
    certname,
    domain: dot < 0 ? null : certname.slice(dot + 1),
    hostname: dot < 0 ? certname : certname.slice(0, dot),
    extensions: { ...extensions },
    external: {},
  };
}

/** Compiles catalogs: `server` is the Puppet Server the role's agents run against. */
export interface CatalogCompiler {
  compile(server: string, request: CompileRequest): Promise<CompileResult>;
}

/**
 * One compile at a time from this sidecar: Puppet Server compiles with a few JRuby
 * instances, which the agents need too, and a run's checks queued here rather than in the
 * server are each timed for their own compile only.
 */
export class PuppetCatalogs implements CatalogCompiler {
  #queue: Promise<unknown> = Promise.resolve();
  // A run compiles one catalog per group back to back: one kept connection saves a TLS
  // handshake each. Idle sockets are unreferenced, so they never hold the sidecar open.
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1, timeout: 60_000 });

  constructor(private readonly options: CatalogServerOptions, private readonly now: () => number = () => performance.now()) {}

  compile(server: string, request: CompileRequest): Promise<CompileResult> {
    const turn = this.#queue.then(() => this.#compile(server, request));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  /** Never throws for the server's or the network's sake: a catalog, or why there is none. */
  async #compile(server: string, request: CompileRequest): Promise<CompileResult> {
    const call: HttpsCall = {
      method: 'POST',
      url: new URL('puppet/v4/catalog', serverOrigin(server, this.options.port)),
      timeoutMs: this.options.timeoutMs,
      json: {
        certname: request.certname,
        environment: request.environment,
        persistence: { facts: false, catalog: false },
        facts: { values: request.facts },
        trusted_facts: { values: trustedFactsFor(request.certname, request.extensions) },
        options: { prefer_requested_environment: true, capture_logs: false },
      },
    };
    try {
      const tls = await readMasterTls(this.options);
      const started = this.now();
      const res = await httpsCall({ ...call, tls, agent: this.#agent });
      const ms = this.now() - started;
      if (!ok(res)) return { state: 'not_compiled', reason: statusError(call, res, res.status === 403 ? FORBIDDEN_HINT : undefined).message };
      const reply = parseJson<{ catalog?: unknown }>(call, res);
      if (typeof reply?.catalog !== 'object' || reply.catalog === null) return { state: 'not_compiled', reason: `${describe(call)} answered without a catalog` };
      return { state: 'compiled', catalog: reply.catalog, ms };
    } catch (error) {
      return { state: 'not_compiled', reason: (error as Error).message };
    }
  }
}

const FORBIDDEN_HINT = "auth.conf must allow this master's certname on /puppet/v4/catalog; see the README";
