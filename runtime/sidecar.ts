/**
 * Assembles one sidecar: config → store → handlers → socket. `start` returns once it
 * serves; `stop` drains calls before closing the store, so answers are never cut off.
 */
import { mkdir } from 'node:fs/promises';
import type { Config } from './config.ts';
import { Dispatcher, type Handlers } from './dispatcher.ts';
import { groupHandlers } from './groups.ts';
import type { Logger } from './log.ts';
import { listen, type SocketServer } from './server.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';
import { statusHandler } from './status.ts';
import { VERSION } from './version.ts';

export interface Sidecar {
  readonly store: Store;
  readonly server: SocketServer;
  stop(): Promise<void>;
}

export async function startSidecar(config: Config, log: Logger): Promise<Sidecar> {
  await mkdir(config.state_dir, { recursive: true, mode: 0o750 });
  const store = await openStore(config);
  const startedAt = Date.now();
  const handlers: Handlers = {
    ...groupHandlers(store),
    status: statusHandler({ store, config, startedAt }),
  };
  let server: SocketServer;
  try {
    server = await listen(config.socket, new Dispatcher(handlers, VERSION), log);
  } catch (error) {
    await store.close();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    store,
    server,
    stop() {
      stopping ??= (async () => {
        await server.close();
        await store.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}
