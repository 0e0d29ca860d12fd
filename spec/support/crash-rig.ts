/**
 * What the SIGKILL specs stand on: the EC2 endpoint, a MariaDB database the killed and the
 * new sidecar share, and a store on it for the spec to watch the bakes through.
 */
import type { DatabaseConfig } from '../../runtime/config.ts';
import { MysqlStore } from '../../runtime/store/mysql-store.ts';
import { startEc2Endpoint, type Ec2Endpoint, type Ec2EndpointOptions } from './ec2-endpoint.ts';
import { startMariadb } from './mariadb.ts';
import { writeConfig } from './sidecar.ts';

export interface CrashRig {
  endpoint: Ec2Endpoint;
  db: DatabaseConfig;
  store: MysqlStore;
}

export async function openCrashRig(context: CrashRig, endpoint: Ec2EndpointOptions): Promise<void> {
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], ...endpoint });
  context.db = await (await startMariadb()).createDatabase();
  context.store = new MysqlStore(context.db);
  await context.store.open();
}

export async function closeCrashRig({ endpoint, store }: CrashRig): Promise<void> {
  await store.close();
  await endpoint.stop();
}

/** Polls `check` until it holds: the kill lands once the store and the endpoint show the planned moment. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The config the killed and the new sidecar share: a short lease, so the new one takes over at once. */
export function crashConfig({ db, endpoint }: CrashRig, region: string): { file: string; socket: string } {
  return writeConfig(db, {
    aws: { region, endpoint: endpoint.url },
    puppet: { classifier: 'none' },
    bake: { poll_interval: '50ms', lease: '1s', report_timeout: '60s' },
  });
}
