/**
 * A throwaway Puppet-like PKI made with the `openssl` CLI: a CA, a server certificate for
 * localhost, client certificates (the master's among them) and agent CSRs carrying
 * trusted-fact extension requests. Every openssl call takes an argv array, never a shell line.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.ts';

export function requireOpenssl(): void {
  const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error('the `openssl` CLI is missing: install it (Debian: apt-get install openssl) to run the Puppet CA and classifier tests');
}

export interface Issued {
  /** Paths. */
  readonly cert: string;
  readonly key: string;
  /** PEM contents. */
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CsrRequest {
  readonly certname: string;
  /** OID → value. A plain value becomes a UTF8String; `ASN1:TYPE:value` is passed to openssl as is. */
  readonly extensions?: Readonly<Record<string, string>>;
  readonly keyType?: 'ec' | 'rsa';
  /** The PKCS#9 challengePassword attribute, as csr_attributes.yaml custom_attributes puts it. */
  readonly challengePassword?: string;
  /** openssl's string_mask: `nombstr` makes ASCII a PrintableString (as Puppet writes it), `utf8only` a UTF8String. */
  readonly stringMask?: 'nombstr' | 'utf8only';
}

export interface Pki {
  readonly dir: string;
  /** Path and PEM of the CA certificate (puppet.conf `localcacert`). */
  readonly caCert: string;
  readonly caPem: string;
  /** For `localhost` and 127.0.0.1. */
  readonly server: Issued;
  /** The master's own certificate: CN `master`. */
  readonly master: Issued;
  issue(cn: string): Issued;
  makeCsr(request: CsrRequest): string;
}

let counter = 0;

function openssl(args: readonly string[], cwd: string): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${run.stderr || run.error?.message}`);
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
const RSA_KEY = ['-newkey', 'rsa:2048'];

export function makePki(caName = 'Puppet CA: test'): Pki {
  requireOpenssl();
  const dir = tempDir('pki');
  const path = (name: string) => join(dir, name);
  openssl(['req', '-x509', ...EC_KEY, '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${caName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);

  const issue = (cn: string, san?: string): Issued => {
    const base = `${++counter}-${cn.replace(/[^A-Za-z0-9.-]/g, '_')}`;
    const ext = [`basicConstraints=CA:FALSE`, `extendedKeyUsage=serverAuth,clientAuth`, ...(san ? [`subjectAltName=${san}`] : [])];
    writeFileSync(path(`${base}.ext`), ext.join('\n') + '\n');
    openssl(['req', '-new', ...EC_KEY, '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`], dir);
    openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-CAserial', 'ca.srl',
      '-days', '2', '-out', `${base}.crt`, '-extfile', `${base}.ext`], dir);
    return { cert: path(`${base}.crt`), key: path(`${base}.key`), certPem: readFileSync(path(`${base}.crt`), 'utf8'), keyPem: readFileSync(path(`${base}.key`), 'utf8') };
  };

  const makeCsr = ({ certname, extensions = {}, keyType = 'ec', challengePassword, stringMask }: CsrRequest): string => {
    const base = `${++counter}-csr`;
    const lines = ['[req]', 'distinguished_name = dn', 'prompt = no'];
    if (stringMask) lines.push(`string_mask = ${stringMask}`);
    const entries = Object.entries(extensions);
    if (entries.length > 0) lines.push('req_extensions = ext');
    if (challengePassword !== undefined) lines.push('attributes = attrs');
    lines.push('[dn]', `CN = ${certname}`);
    if (entries.length > 0) lines.push('[ext]', ...entries.map(([oid, value]) => `${oid} = ${value.startsWith('ASN1:') ? value : `ASN1:UTF8String:${value}`}`));
    if (challengePassword !== undefined) lines.push('[attrs]', `challengePassword = ${challengePassword}`);
    if (lines.some((line) => /[\n\r]/.test(line))) throw new Error('makeCsr: values must be single-line');
    writeFileSync(path(`${base}.cnf`), lines.join('\n') + '\n');
    openssl(['req', '-new', ...(keyType === 'rsa' ? RSA_KEY : EC_KEY), '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-config', `${base}.cnf`], dir);
    return readFileSync(path(`${base}.csr`), 'utf8');
  };

  return {
    dir,
    caCert: path('ca.crt'),
    caPem: readFileSync(path('ca.crt'), 'utf8'),
    server: issue('localhost', 'DNS:localhost,IP:127.0.0.1'),
    master: issue('master'),
    issue: (cn) => issue(cn),
    makeCsr,
  };
}

