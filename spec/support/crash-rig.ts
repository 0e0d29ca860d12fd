/**
 * What the SIGKILL specs stand on: the EC2 endpoint, a MariaDB database the killed and the
 * new sidecar share, and a store on it for the spec to watch the bakes through.
 */
import type { DatabaseConfig } from '../../runtime/config.ts';
import { MysqlStore } from '../../runtime/store/mysql-store.ts';
import { startEc2Endpoint, type Ec2Endpoint, type Ec2EndpointOptions } from './ec2-endpoint.ts';
import { startMariadb } from './mariadb.ts';

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
