/** Everything a bake step touches, passed in so tests control time, EC2 and Puppet. */
import type { Clock } from '../clock.ts';
import type { Ec2Source } from '../images.ts';
import type { Logger } from '../log.ts';
import type { CertificateAuthority, Classifier } from '../puppet/types.ts';
import type { Sleep } from '../sleep.ts';
import type { Bake, Group, Store } from '../store/store.ts';
import type { BootstrapOutcome } from '../bootstrap/types.ts';
import type { Deadlines } from './deadlines.ts';

export interface Bootstrapper {
  /** ssh mode: run the bootstrap script on the instance; resolves when the agent run ended. */
  overSsh(bake: Bake, group: Group, host: string, deadline: number): Promise<BootstrapOutcome>;
  /** userdata mode: the script the instance runs at first boot. */
  userData(group: Group, server: string): string;
}

export interface BakeEnv {
  readonly store: Store;
  readonly ec2: Ec2Source;
  /** Absent when the config names no Puppet CA: signing is then left to policy autosign. */
  readonly ca: CertificateAuthority | null;
  readonly classifier: Classifier;
  readonly bootstrap: Bootstrapper;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly log: Logger;
  readonly deadlines: Deadlines;
  /** This sidecar's lease owner name: unique per process. */
  readonly owner: string;
  readonly leaseMs: number;
  readonly tickMs: number;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
