import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { asAutoamiError } from '../errors.ts';
import { PROTOCOL_VERSION } from '../interface/methods.ts';
import type { Ec2Source } from '../ec2/source.ts';
import type { Store } from '../store/store.ts';
import { VERSION } from '../version.ts';

export interface StatusReport {
  version: string;
  protocol: number;
  uptime_s: number;
  socket: string;
  store: string;
  store_ok: boolean;
  store_error?: string;
  queue_depth: number;
  ec2_region: string;
  ec2_ok: boolean;
  ec2_error?: string;
}

// Status must answer promptly even when EC2 is unreachable and the SDK would keep retrying.
const EC2_PROBE_MS = 5000;

async function probeEc2(ec2: Ec2Source, region: string): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer from EC2 in ${region} within ${EC2_PROBE_MS / 1000} s`), EC2_PROBE_MS);
  });
  try {
    return await Promise.race([ec2.get(region).ping().then(() => undefined, (error: unknown) => asAutoamiError(error).message), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `startedAt` is on `clock`, which uptime is measured by. */
export function statusHandler(deps: { store: Store; config: Config; startedAt: number; ec2: Ec2Source; clock: Clock }) {
  return async (): Promise<StatusReport> => {
    const report: StatusReport = {
      version: VERSION,
      protocol: PROTOCOL_VERSION,
      uptime_s: Math.round((deps.clock.now() - deps.startedAt) / 1000),
      socket: deps.config.socket,
      store: deps.store.backend,
      store_ok: true,
      queue_depth: (await deps.store.listBakes({ active: true }).catch(() => [])).length,
      ec2_region: deps.config.aws.region,
      ec2_ok: true,
    };
    const ec2Error = await probeEc2(deps.ec2, deps.config.aws.region);
    if (ec2Error !== undefined) {
      report.ec2_ok = false;
      report.ec2_error = ec2Error;
    }
    try {
      await deps.store.ping();
    } catch (error) {
      report.store_ok = false;
      report.store_error = asAutoamiError(error).message;
    }
    return report;
  };
}
