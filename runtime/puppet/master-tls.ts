/**
 * The master's own certificate, key and CA certificate, which AutoAMI presents to Puppet
 * Server's APIs (CA, catalog). Read per call: `puppet ssl` may renew the certificate while
 * the sidecar runs.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.ts';
import type { TlsMaterial } from './https.ts';

/** Paths, as in puppet.conf. */
export interface MasterTlsPaths {
  readonly hostcert: string;
  readonly hostprivkey: string;
  readonly localcacert: string;
}

export async function readMasterTls(paths: MasterTlsPaths): Promise<TlsMaterial> {
  const read = async (key: keyof MasterTlsPaths) => {
    try {
      return await readFile(paths[key], 'utf8');
    } catch (error) {
      throw new ConfigError(`puppet.${key}`, `cannot read ${JSON.stringify(paths[key])}: ${(error as NodeJS.ErrnoException).code ?? error}`, error);
    }
  };
  const [cert, key, ca] = await Promise.all([read('hostcert'), read('hostprivkey'), read('localcacert')]);
  return { cert, key, ca };
}

/** `https://server:port/` with an IPv6 address bracketed. */
export const serverOrigin = (server: string, port: number): string => `https://${server.includes(':') ? `[${server}]` : server}:${port}/`;
