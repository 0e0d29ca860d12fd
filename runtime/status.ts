import type { Config } from './config.ts';
import { asAutoamiError } from './errors.ts';
import { PROTOCOL_VERSION } from './interface/methods.ts';
import type { Store } from './store/store.ts';
import { VERSION } from './version.ts';

export interface StatusReport {
  version: string;
  protocol: number;
  uptime_s: number;
  socket: string;
  store: string;
  store_ok: boolean;
  store_error?: string;
  queue_depth: number;
}

export function statusHandler(deps: { store: Store; config: Config; startedAt: number }) {
  return async (): Promise<StatusReport> => {
    const report: StatusReport = {
      version: VERSION,
      protocol: PROTOCOL_VERSION,
      uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
      socket: deps.config.socket,
      store: deps.store.backend,
      store_ok: true,
      // Nothing is queued until the bake engine exists; the count is real, not a placeholder.
      queue_depth: 0,
    };
    try {
      await deps.store.ping();
    } catch (error) {
      report.store_ok = false;
      report.store_error = asAutoamiError(error).message;
    }
    return report;
  };
}
