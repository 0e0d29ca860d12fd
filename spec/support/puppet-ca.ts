/**
 * A stand-in for Puppet Server's CA API v1 over real HTTPS. Like Puppet Server it asks for
 * a client certificate without requiring one at the TLS layer, then applies an auth.conf
 * rule: only a certificate from the test CA whose CN is allowed may use certificate_status.
 */
import { listenHttps } from './https-stand-in.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Pki } from './pki.ts';

export type CertState = 'requested' | 'signed' | 'revoked';

export interface CaCall {
  readonly method: string;
  readonly endpoint: string;
  readonly certname: string;
  /** The client certificate's CN, when the test CA issued it. */
  readonly client: string | null;
  readonly status: number;
}

export interface PuppetCaStandIn {
  readonly port: number;
  readonly calls: CaCall[];
  /** What an agent's own PUT certificate_request leaves behind. */
  submit(certname: string, pem: string): void;
  state(certname: string): CertState | undefined;
  close(): Promise<void>;
}

export interface CaStandInOptions {
  /** Client CNs auth.conf allows on certificate_status; default: the master. */
  readonly allowed?: readonly string[];
}

interface Entry {
  state: CertState;
  csr: string | null;
}

export async function startPuppetCa(pki: Pki, options: CaStandInOptions = {}): Promise<PuppetCaStandIn> {
  const allowed = options.allowed ?? ['master'];
  const entries = new Map<string, Entry>();
  const calls: CaCall[] = [];

  const handle = (req: IncomingMessage, body: string, res: ServerResponse) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.authorized ? socket.getPeerCertificate() : null;
    const client = peer && typeof peer.subject?.CN === 'string' ? peer.subject.CN : null;
    const match = /^\/puppet-ca\/v1\/(certificate_request|certificate_status)\/([^/?]+)$/.exec(req.url ?? '');
    const send = (status: number, text = '', type = 'text/plain') => {
      calls.push({ method: req.method ?? '', endpoint: match?.[1] ?? req.url ?? '', certname: match ? decodeURIComponent(match[2]!) : '', client, status });
      res.writeHead(status, { 'Content-Type': type }).end(text);
    };
    if (!match) return send(404, 'Not Found');
    const [, endpoint, encoded] = match;
    const certname = decodeURIComponent(encoded!);
    const entry = entries.get(certname);
    if (endpoint === 'certificate_request') {
      if (req.method !== 'GET') return send(405, 'Method Not Allowed');
      return entry?.state === 'requested' && entry.csr ? send(200, entry.csr) : send(404, `Invalid certname or no CSR for ${certname}`);
    }
    if (client === null || !allowed.includes(client)) {
      return send(403, `Forbidden request: ${client ?? '(no trusted client certificate)'} access to /puppet-ca/v1/certificate_status/${certname} (method ${req.method}) (authenticated: ${client !== null}) denied by rule 'puppetlabs cert status'.`);
    }
    if (req.method === 'GET') return entry ? send(200, JSON.stringify({ name: certname, state: entry.state }), 'application/json') : send(404, `Invalid certname: ${certname}`);
    if (req.method === 'DELETE') {
      if (!entry) return send(404, `Invalid certname: ${certname}`);
      entries.delete(certname);
      return send(204);
    }
    if (req.method !== 'PUT') return send(405, 'Method Not Allowed');
    if (!String(req.headers['content-type']).startsWith('application/json')) return send(415, 'Content-Type must be application/json');
    let desired: unknown;
    try {
      desired = (JSON.parse(body) as { desired_state?: unknown }).desired_state;
    } catch {
      return send(400, 'Request body is not JSON');
    }
    if (!entry) return send(404, `Invalid certname: ${certname}`);
    if (desired === 'signed') {
      if (entry.state !== 'requested') return send(409, `Cannot sign for host ${certname} without a certificate request`);
      entries.set(certname, { state: 'signed', csr: null });
      return send(204);
    }
    if (desired === 'revoked') {
      if (entry.state === 'requested') return send(409, `Cannot revoke certificate for host ${certname} without a signed certificate`);
      entry.state = 'revoked';
      return send(204);
    }
    return send(400, `State ${JSON.stringify(desired)} invalid; must be 'signed' or 'revoked'`);
  };

  const server = await listenHttps({ key: pki.server.keyPem, cert: pki.server.certPem, ca: pki.caPem, requestCert: true, rejectUnauthorized: false }, handle);

  return {
    port: server.port,
    calls,
    submit(certname, pem) {
      entries.set(certname, { state: 'requested', csr: pem });
    },
    state: (certname) => entries.get(certname)?.state,
    close: () => server.close(),
  };
}
