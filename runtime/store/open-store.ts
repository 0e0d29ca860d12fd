/** Chooses the backend from the config (DESIGN §3): MySQL when `database` is set. */
import { embeddedStorePath, type Config } from '../config.ts';
import { EmbeddedStore } from './embedded-store.ts';
import { MysqlStore } from './mysql-store.ts';
import type { Store } from './store.ts';

export async function openStore(config: Config): Promise<Store> {
  const store: Store = config.database ? new MysqlStore(config.database) : new EmbeddedStore(embeddedStorePath(config));
  await store.open();
  return store;
}
