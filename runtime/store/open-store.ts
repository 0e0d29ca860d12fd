/** Chooses the backend from the config: MySQL when `database` is set. */
import type { Clock } from '../clock.ts';
import { embeddedStorePath, type Config } from '../config.ts';
import { EmbeddedStore } from './embedded-store.ts';
import { MysqlStore } from './mysql-store.ts';
import type { Store } from './store.ts';

/** `clock` stamps every time the store writes (systemClock in production). */
export async function openStore(config: Config, clock: Clock): Promise<Store> {
  const store: Store = config.database ? new MysqlStore(config.database, { clock }) : new EmbeddedStore(embeddedStorePath(config), { clock });
  await store.open();
  return store;
}
