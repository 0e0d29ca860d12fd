/**
 * The sidecar's Prometheus metrics (`metrics.listen`). Each sidecar counts into a Registry
 * of its own, never prom-client's global one, so several sidecars in one process (the
 * specs) keep their counts apart.
 *
 * prom-client is loaded only when metrics are on: loading it costs tens of milliseconds,
 * and start-up has a budget (BENCHMARKS.md, startup_ms). A sidecar without `metrics.listen`
 * holds `Metrics.off()`, which takes every event and counts none, so callers never ask.
 *
 * Events are counted where they are certain: a bake's move when the store committed it,
 * an EC2 call when the SDK answered it, a throttle on every attempt EC2 refused.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AutoamiError, StoreUnavailableError, type Ec2Error } from './errors.ts';
import { isThrottling } from './ec2/failures.ts';
import type { ReportSource, ReportState } from './methods/reports.ts';
import { BAKE_OUTCOMES, BAKE_STATES, type Bake, type BakeState, type Store } from './store/store.ts';
import { VERSION } from './version.ts';

type PromClient = typeof import('prom-client');

/**
 * prom-client is CommonJS: run from source its exports are the module's names, but in the
 * built sidecar it is a chunk of its own, whose exports arrive under `default`.
 */
async function loadPromClient(): Promise<PromClient> {
  const loaded: PromClient | { readonly default: PromClient } = await import('prom-client');
  return 'Registry' in loaded ? loaded : loaded.default;
}

/** What a report came to: report.submit's answer, or `rejected`: a spooled file unreadable or invalid, set aside. */
export type ReportCount = ReportState | 'rejected';

/** Seconds. Bakes take minutes; the short end catches those that fail at once. */
const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200];

/** What the Registry holds; exists only while metrics are on. */
class Instruments {
  readonly registry: Registry;
  readonly transitions: Counter<'from' | 'to' | 'outcome'>;
  readonly finished: Counter<'outcome'>;
  readonly duration: Histogram<'outcome'>;
  readonly reports: Counter<'source' | 'state'>;
  readonly ec2Calls: Counter<'action'>;
  readonly ec2Errors: Counter<'action' | 'code'>;
  readonly ec2Throttles: Counter<'action'>;
  readonly storeErrors: Counter<'operation' | 'kind'>;
  readonly leaseTakeovers: Counter;
  /** The store the active-bakes gauge reads at scrape time; set by Metrics.watchStore(). */
  activeFrom: Store | undefined;
  readonly watchedClients = new WeakSet<EC2Client>();

  constructor(prom: PromClient) {
    const registry = new prom.Registry();
    this.registry = registry;
    const registers = [registry];
    this.transitions = new prom.Counter({
      name: 'autoami_bake_transitions_total',
      help: 'Bake state changes this sidecar committed; outcome is empty until the bake has one (from cleaning on).',
      labelNames: ['from', 'to', 'outcome'],
      registers,
    });
    this.finished = new prom.Counter({ name: 'autoami_bakes_finished_total', help: 'Bakes this sidecar moved to done, by outcome.', labelNames: ['outcome'], registers });
    // Every outcome shows from the first scrape: a rate over a series that appears late misses its first increase.
    for (const outcome of BAKE_OUTCOMES) this.finished.inc({ outcome }, 0);
    this.duration = new prom.Histogram({
      name: 'autoami_bake_duration_seconds',
      help: 'From a bake being queued to it being done, by outcome.',
      labelNames: ['outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.reports = new prom.Counter({
      name: 'autoami_reports_total',
      help: 'Puppet reports handled: source socket (live) or spool (replayed); state as report.submit answers, or rejected (set aside).',
      labelNames: ['source', 'state'],
      registers,
    });
    this.ec2Calls = new prom.Counter({ name: 'autoami_ec2_calls_total', help: 'EC2 API calls, SDK retries included in one call.', labelNames: ['action'], registers });
    this.ec2Errors = new prom.Counter({ name: 'autoami_ec2_call_errors_total', help: 'EC2 API calls that failed after the SDK retries, by EC2 error code.', labelNames: ['action', 'code'], registers });
    this.ec2Throttles = new prom.Counter({
      name: 'autoami_ec2_throttles_total',
      help: 'EC2 attempts answered with throttling, also those a retry then got through.',
      labelNames: ['action'],
      registers,
    });
    this.storeErrors = new prom.Counter({
      name: 'autoami_store_errors_total',
      help: 'Store calls that failed: unavailable (StoreUnavailableError) or internal (an unexpected error).',
      labelNames: ['operation', 'kind'],
      registers,
    });
    this.leaseTakeovers = new prom.Counter({ name: 'autoami_lease_takeovers_total', help: 'Bake leases taken over from another sidecar whose lease had lapsed.', registers });
    const active: Gauge<'state'> = new prom.Gauge({
      name: 'autoami_bakes_active',
      help: 'Bakes not yet done, by state, as the store holds them at scrape time (those of every sidecar sharing it).',
      labelNames: ['state'],
      registers,
      collect: () => this.#countActive(active),
    });
    new prom.Gauge({ name: 'autoami_build_info', help: 'Always 1; the version is in the label.', labelNames: ['version'], registers }).set({ version: VERSION }, 1);
    // prom-client's default process metrics are left out: they start an event-loop monitor
    // and a GC observer that nothing can stop, one more for each sidecar a process starts.
    const rss: Gauge = new prom.Gauge({ name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.', registers, collect: () => rss.set(process.memoryUsage.rss()) });
    new prom.Gauge({ name: 'process_start_time_seconds', help: 'Start time of the process since the Unix epoch, in seconds.', registers }).set(
      Math.round(Date.now() / 1000 - process.uptime()),
    );
  }

  async #countActive(gauge: Gauge<'state'>): Promise<void> {
    gauge.reset();
    if (!this.activeFrom) return;
    let bakes: Bake[];
    try {
      bakes = await this.activeFrom.listBakes({ active: true });
    } catch {
      // Counted as a store error already; no series rather than stale ones says "unknown".
      return;
    }
    for (const state of BAKE_STATES) if (state !== 'done') gauge.set({ state }, 0);
    for (const bake of bakes) gauge.inc({ state: bake.state });
  }
}

export class Metrics {
  readonly #on: Instruments | null;

  private constructor(on: Instruments | null) {
    this.#on = on;
  }

  /** Counts nothing and never loads prom-client: for a sidecar without `metrics.listen`. */
  static off(): Metrics {
    return new Metrics(null);
  }

  static async on(): Promise<Metrics> {
    return new Metrics(new Instruments(await loadPromClient()));
  }

  get enabled(): boolean {
    return this.#on !== null;
  }

  /** The Prometheus text format's content type. */
  get contentType(): string {
    return this.#on?.registry.contentType ?? 'text/plain; version=0.0.4; charset=utf-8';
  }

  /** Everything in the Prometheus text format, as GET /metrics serves it. */
  async text(): Promise<string> {
    return this.#on ? this.#on.registry.metrics() : '';
  }

  /**
   * The store as the sidecar should use it: failed calls are counted, and so is every bake
   * move it commits. A Proxy, not a class forwarding each method, so that a method added to
   * Store needs nothing here.
   */
  watchStore(store: Store): Store {
    const on = this.#on;
    if (!on) return store;
    const transition: Store['transition'] = async (id, owner, from, update) => {
      const bake = await store.transition(id, owner, from, update);
      if (bake) this.#moved(on, from, bake);
      return bake;
    };
    const wrappers = new Map<PropertyKey, unknown>();
    const watched = new Proxy(store, {
      get: (target, key) => {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        let wrapper = wrappers.get(key);
        if (wrapper === undefined) {
          const method = key === 'transition' ? transition : value;
          wrapper = (...args: unknown[]): unknown => this.#storeCall(on, String(key), () => method.apply(target, args));
          wrappers.set(key, wrapper);
        }
        return wrapper;
      },
    });
    on.activeFrom = watched;
    return watched;
  }

  reportHandled(source: ReportSource, state: ReportCount): void {
    this.#on?.reports.inc({ source, state });
  }

  /** One EC2 call answered: `failure` null when it succeeded. */
  ec2Called(action: string, failure: Ec2Error | null): void {
    if (!this.#on) return;
    this.#on.ec2Calls.inc({ action });
    if (failure) this.#on.ec2Errors.inc({ action, code: failure.awsCode });
  }

  /**
   * Counts each throttled attempt on this client. The SDK retries throttling on its own, so
   * a call that got through on its third attempt was still throttled twice: only a
   * middleware inside the retry loop sees that.
   */
  watchEc2Client(client: EC2Client): void {
    const on = this.#on;
    if (!on || on.watchedClients.has(client)) return;
    on.watchedClients.add(client);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        try {
          return await next(args);
        } catch (error) {
          if (isThrottling(error)) on.ec2Throttles.inc({ action: (context.commandName ?? 'unknown').replace(/Command$/, '') });
          throw error;
        }
      },
      // Deserialize runs once per attempt; high priority wraps the SDK's deserializer, so errors arrive parsed.
      { step: 'deserialize', priority: 'high' },
    );
  }

  /** This sidecar took a bake's lease that another sidecar held and let lapse. */
  leaseTakenOver(): void {
    this.#on?.leaseTakeovers.inc();
  }

  #moved(on: Instruments, from: BakeState, bake: Bake): void {
    on.transitions.inc({ from, to: bake.state, outcome: bake.outcome ?? '' });
    if (bake.state !== 'done' || bake.outcome === null) return;
    on.finished.inc({ outcome: bake.outcome });
    const seconds = ((bake.finished_at ?? bake.updated_at) - bake.created_at) / 1000;
    if (Number.isFinite(seconds)) on.duration.observe({ outcome: bake.outcome }, Math.max(0, seconds));
  }

  #storeCall(on: Instruments, operation: string, call: () => unknown): unknown {
    const failed = (error: unknown): never => {
      // Conflicts, unknown names and bad values are answers, not store trouble.
      if (error instanceof StoreUnavailableError) on.storeErrors.inc({ operation, kind: 'unavailable' });
      else if (!(error instanceof AutoamiError)) on.storeErrors.inc({ operation, kind: 'internal' });
      throw error;
    };
    let result: unknown;
    try {
      result = call();
    } catch (error) {
      failed(error);
    }
    return result instanceof Promise ? result.catch(failed) : result;
  }
}
