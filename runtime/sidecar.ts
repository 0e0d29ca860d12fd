/**
 * Assembles one sidecar: config → store → handlers → socket. `start` returns once it
 * serves; `stop` drains calls before closing the store, so answers are never cut off.
 */
import { mkdir } from 'node:fs/promises';
import type { Config } from './config.ts';
import { Dispatcher, type Handlers } from './dispatcher.ts';
import { bakeListHandler } from './methods/bake-list.ts';
import { systemClock, type Clock } from './clock.ts';
import { Ec2Regions } from './ec2/regions.ts';
import { groupHandlers } from './methods/groups.ts';
import { imageHandlers } from './methods/images.ts';
import type { Ec2Source } from './ec2/source.ts';
import { launchHandler } from './methods/launch.ts';
import { randomId, type IdSource, type SecretSource } from './random.ts';
import { realSleep, type Sleep } from './sleep.ts';
import { runHandler } from './methods/bake-run.ts';
import { wireBakes, type BakeWiring } from './bake/wiring.ts';
import { csrCheckHandler } from './methods/autosign.ts';
import { historyHandlers } from './methods/history.ts';
import { channelHandlers } from './methods/channels.ts';
import { PublishRegions, type PublishSource } from './publish/source.ts';
import { submitReport, type ReportDeps } from './methods/reports.ts';
import type { CertificateAuthority, Classifier } from './puppet/types.ts';
import type { Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { serveMetrics, type MetricsServer } from './metrics-server.ts';
import { listen, type SocketServer } from './server.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';
import { statusHandler } from './methods/status.ts';
import { VERSION } from './version.ts';

/** Seams for tests; production uses the real clock, ids and EC2. */
export interface SidecarOptions {
  readonly clock?: Clock;
  readonly ids?: IdSource;
  /** Bakes' one-time CSR challenges. */
  readonly secrets?: SecretSource;
  readonly ec2?: Ec2Source;
  readonly publish?: PublishSource;
  readonly sleep?: Sleep;
  readonly ca?: CertificateAuthority | null;
  readonly classifier?: Classifier;
}

export interface Sidecar {
  readonly store: Store;
  readonly bakes: BakeWiring;
  readonly server: SocketServer;
  readonly metrics: Metrics;
  /** Null without `metrics.listen`. */
  readonly metricsServer: MetricsServer | null;
  stop(): Promise<void>;
}

export async function startSidecar(config: Config, log: Logger, options: SidecarOptions = {}): Promise<Sidecar> {
  await mkdir(config.state_dir, { recursive: true, mode: 0o750 });
  const metrics = config.metrics.listen ? await Metrics.on() : Metrics.off();
  const clock = options.clock ?? systemClock;
  const store = metrics.watchStore(await openStore(config, clock));
  const regions = options.ec2 ? undefined : new Ec2Regions(config.aws, { pollIntervalMs: config.bake.poll_interval_ms, metrics });
  const ec2: Ec2Source = options.ec2 ?? regions!;
  const startedAt = clock.now();
  const ids = options.ids ?? randomId;
  const sleep = options.sleep ?? realSleep;
  const publishRegions = options.publish ? undefined : new PublishRegions(config.aws, sleep, clock);
  const publish: PublishSource = options.publish ?? publishRegions!;
  const bakes = wireBakes(config, store, log, { clock, sleep, ids, secrets: options.secrets, ec2, publish, ca: options.ca, classifier: options.classifier, metrics });
  const reports: ReportDeps = { store, metrics, onRecorded: (id) => bakes.engine.wake(id) };
  const handlers: Handlers = {
    ...groupHandlers(store, bakes.env.classifier, ec2, publish),
    ...channelHandlers({ store, ec2, publish, clock, sleep, log, tickMs: config.bake.poll_interval_ms, deadlines: bakes.env.deadlines }),
    ...imageHandlers({ ec2, defaultRegion: config.aws.region, clock }),
    'group.launch': launchHandler({ store, ec2, clock, ids }),
    'bake.run': runHandler(bakes.env, bakes.engine, ids),
    ...historyHandlers(store),
    'csr.check': csrCheckHandler(store),
    'report.submit': (params) => submitReport(reports, params, 'socket'),
    'bake.list': bakeListHandler({ store, ec2 }),
    status: statusHandler({ store, config, startedAt, ec2, clock }),
  };
  let server: SocketServer;
  let metricsServer: MetricsServer | null = null;
  try {
    metricsServer = await serveMetrics(config.metrics, metrics, log);
    server = await listen(config.socket, new Dispatcher(handlers, VERSION), log);
  } catch (error) {
    await metricsServer?.close();
    await store.close();
    throw error;
  }
  await bakes.replay();
  bakes.engine.start();
  let stopping: Promise<void> | undefined;
  return {
    store,
    bakes,
    server,
    metrics,
    metricsServer,
    stop() {
      stopping ??= (async () => {
        // First: a scrape reads the store, which closes below.
        await metricsServer?.close();
        await server.close();
        await bakes.stop();
        regions?.destroy();
        await publishRegions?.destroy();
        await store.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}
