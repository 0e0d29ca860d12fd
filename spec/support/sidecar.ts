/** Start a real sidecar in this process on a temp socket, with the embedded or a MySQL store. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig, type DatabaseConfig } from '../../runtime/config.ts';
import { silentLogger } from '../../runtime/log.ts';
import { startSidecar, type Sidecar, type SidecarOptions } from '../../runtime/sidecar.ts';
import { tempDir } from './tmp.ts';

export interface TestSidecar extends Sidecar {
  readonly dir: string;
  readonly configFile: string;
  readonly socketPath: string;
}

/** Write a config file for a sidecar under a fresh temp dir. */
export function writeConfig(database?: DatabaseConfig, extra: Record<string, unknown> = {}): { dir: string; file: string; socket: string } {
  const dir = tempDir();
  const socket = join(dir, 'run', 'autoami.sock');
  // A closed loopback port unless a test brings its EC2 endpoint: no test may reach real AWS.
  const config: Record<string, unknown> = { socket, state_dir: join(dir, 'state'), aws: { region: 'us-east-1', endpoint: 'http://127.0.0.1:1' }, ...extra };
  // SSM and Auto Scaling go where EC2 goes unless a test says otherwise: the endpoint in spec/support serves all three.
  const aws = config.aws as { endpoint?: string; endpoints?: unknown };
  if (aws.endpoint !== undefined && aws.endpoints === undefined) config.aws = { ...aws, endpoints: { ssm: aws.endpoint, autoscaling: aws.endpoint } };
  if (database) {
    const { host, port, socket_path, user, password, name } = database;
    config.database = socket_path ? { socket_path, user, password, name } : { host, port, user, password, name };
  }
  const file = join(dir, 'autoami.yaml');
  writeFileSync(file, stringify(config));
  return { dir, file, socket };
}

export async function startTestSidecar(database?: DatabaseConfig, extra: Record<string, unknown> = {}, options: SidecarOptions = {}): Promise<TestSidecar> {
  const { dir, file, socket } = writeConfig(database, extra);
  const sidecar = await startSidecar(await loadConfig(file), silentLogger, options);
  return Object.assign(sidecar, { dir, configFile: file, socketPath: socket });
}
