/** Builds the bake engine and its report intake from the config. */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Ec2Source } from '../ec2/source.ts';
import type { PublishSource } from '../publish/source.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { PuppetCa } from '../puppet/ca.ts';
import { NoClassifier, PeClassifier } from '../puppet/classifier.ts';
import type { CertificateAuthority, Classifier } from '../puppet/types.ts';
import { replaySpool } from '../methods/reports.ts';
import { PuppetCatalogs, type CatalogCompiler } from '../puppet/catalog.ts';
import { challengeKey, derivedSecrets, sensitiveValueKey } from '../puppet/challenge.ts';
import type { IdSource, SecretSource } from '../random.ts';
import type { Sleep } from '../sleep.ts';
import type { Store } from '../store/store.ts';
import { bootstrapper } from './bootstrapper.ts';
import { deadlines } from './deadlines.ts';
import { BakeEngine } from './engine.ts';
import type { BakeEnv } from './env.ts';
import { LaunchLedger } from './launch-ledger.ts';
import { WaitTimes } from './wait-times.ts';

export interface BakeWiring {
  readonly env: BakeEnv;
  readonly engine: BakeEngine;
  /** Replays the spool now; also runs on a timer while the engine runs. */
  replay(): Promise<number>;
  stop(): Promise<void>;
}

export interface BakeSeams {
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly ids: IdSource;
  /** Default: derived from the key of every sidecar on this store and the bake id. */
  readonly secrets?: SecretSource;
  readonly ec2: Ec2Source;
  readonly publish: PublishSource;
  readonly ca?: CertificateAuthority | null;
  readonly classifier?: Classifier;
  /** Default: Puppet Server's catalog API with the master's certificate, when the config names it. */
  readonly catalogs?: CatalogCompiler | null;
  readonly metrics: Metrics;
}

function certificateAuthority(config: Config): CertificateAuthority | null {
  const { server, port, hostcert, hostprivkey, localcacert } = config.puppet;
  if (!server || !hostcert || !hostprivkey || !localcacert) return null;
  return new PuppetCa({ server, port, hostcert, hostprivkey, localcacert });
}

function catalogCompiler(config: Config): CatalogCompiler | null {
  const { port, hostcert, hostprivkey, localcacert } = config.puppet;
  if (!hostcert || !hostprivkey || !localcacert) return null;
  return new PuppetCatalogs({ port, hostcert, hostprivkey, localcacert });
}

export function wireBakes(config: Config, store: Store, log: Logger, seams: BakeSeams): BakeWiring {
  const key = challengeKey(config.database?.password, config.state_dir);
  const compiler = seams.catalogs === undefined ? catalogCompiler(config) : seams.catalogs;
  const env: BakeEnv = {
    store,
    ec2: seams.ec2,
    publish: seams.publish,
    ca: seams.ca === undefined ? certificateAuthority(config) : seams.ca,
    classifier: seams.classifier ?? (config.puppet.classifier === 'pe' ? new PeClassifier({ localcacert: config.puppet.localcacert }) : new NoClassifier()),
    bootstrap: bootstrapper({ stateDir: config.state_dir, sshPort: config.bake.ssh_port, puppetPort: config.puppet.port, clock: seams.clock, sleep: seams.sleep }),
    clock: seams.clock,
    sleep: seams.sleep,
    secrets: seams.secrets ?? derivedSecrets(key),
    catalogCheck: compiler ? { store, compiler, sensitiveKey: sensitiveValueKey(key) } : null,
    log,
    deadlines: deadlines(config.bake.report_timeout_ms),
    owner: `${hostname()}:${process.pid}:${seams.ids().slice(0, 8)}`,
    leaseMs: config.bake.lease_ms,
    tickMs: config.bake.poll_interval_ms,
    metrics: seams.metrics,
    launches: new LaunchLedger(),
    waits: new WaitTimes(store, log, config.bake.poll_interval_ms),
  };
  const engine = new BakeEngine(env, config.bake.concurrency);
  const spoolDir = join(config.state_dir, 'spool');
  let replaying: Promise<number> | undefined;
  const replay = () => (replaying ??= replaySpool({ store, metrics: env.metrics, onRecorded: (id) => engine.wake(id) }, spoolDir, log).finally(() => (replaying = undefined)));
  const timer = setInterval(() => void replay(), Math.max(env.tickMs * 5, 1000));
  timer.unref();
  return {
    env,
    engine,
    replay,
    async stop() {
      clearInterval(timer);
      await engine.stop();
      await replaying;
    },
  };
}
