/**
 * Drives unfinished bakes to `done`. Work is taken through leases, so any number of
 * sidecars on one MySQL share it without doing a step twice; a sidecar that starts picks
 * up every bake whose lease has lapsed, which is how a crash is resumed.
 */
import { setMaxListeners } from 'node:events';
import { AutoamiError, Ec2WaitTimeout, ErrorCode, StoreUnavailableError, asAutoamiError } from '../errors.ts';
import { isPassingEc2Failure } from '../ec2/failures.ts';
import type { Bake } from '../store/store.ts';
import type { BakeEnv, StepEnv } from './env.ts';
import { abandonCleanup, finish, step } from './steps.ts';

function stopController(): AbortController {
  const controller = new AbortController();
  // Each wait under way listens to it, and there is one per bake driven: Node's leak warning at 10 is no leak here.
  setMaxListeners(0, controller.signal);
  return controller;
}

export class BakeEngine {
  readonly #env: BakeEnv;
  readonly #concurrency: number;
  readonly #driving = new Map<string, Promise<void>>();
  readonly #wakers = new Map<string, () => void>();
  /** Bakes woken while in a step rather than a pause. */
  readonly #woken = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Every wait of a step gets its signal; stop() aborts it. */
  #stopping = stopController();
  #scanning: Promise<void> | undefined;

  constructor(env: BakeEnv, concurrency: number) {
    this.#env = env;
    this.#concurrency = concurrency;
  }

  /** Scan now and then every tick for bakes this sidecar may drive. */
  start(): void {
    this.#stopped = false;
    if (this.#stopping.signal.aborted) this.#stopping = stopController();
    const loop = () => {
      if (this.#stopped) return;
      this.wake();
      this.#timer = setTimeout(loop, this.#env.tickMs * 5);
      this.#timer.unref();
    };
    loop();
  }

  /**
   * Look for work at once: without an id, every active bake (new bakes queued); with one,
   * that bake (its report arrived). A report costs no scan of every active bake, as one
   * arrives for each of hundreds in a big run: a bake not driven here is its lease
   * holder's to move on, or, if that lease lapsed, the next scan's.
   */
  wake(bakeId?: string): void {
    if (bakeId === undefined) {
      this.#scanning ??= this.#scan().finally(() => (this.#scanning = undefined));
      return;
    }
    const waker = this.#wakers.get(bakeId);
    if (waker) waker();
    // Inside a step, which may have read the bake before the report came: the next pause
    // must not wait out a whole tick.
    else if (this.#driving.has(bakeId)) this.#woken.add(bakeId);
  }

  get active(): number {
    return this.#driving.size;
  }

  /**
   * Stop taking work. Drivers stop at their next step, and a step waiting on EC2 (an
   * instance, an image, the launch pacer) stops waiting at once: its bake stays in its state
   * and its lease is released, for whoever starts next to resume. A step that cannot be cut
   * short (an agent run over SSH) is not waited for past `graceMs`: its lease lapses instead.
   */
  async stop(graceMs = 2000): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort(new AutoamiError(ErrorCode.ShuttingDown, 'the sidecar is stopping'));
    clearTimeout(this.#timer);
    for (const wake of this.#wakers.values()) wake();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([this.#scanning, ...this.#driving.values()]), grace]);
    clearTimeout(timer);
  }

  async #scan(): Promise<void> {
    let bakes: Bake[];
    try {
      bakes = await this.#env.store.listBakes({ active: true });
    } catch (error) {
      this.#env.log.warn('cannot list bakes', { error: asAutoamiError(error).message });
      return;
    }
    const now = this.#env.clock.now();
    for (const bake of bakes) {
      if (this.#stopped || this.#driving.size >= this.#concurrency) return;
      if (this.#driving.has(bake.id)) continue;
      const leasedElsewhere = bake.lease_owner !== null && bake.lease_owner !== this.#env.owner && (bake.lease_expires ?? 0) >= now;
      if (leasedElsewhere) continue;
      const driver = this.#drive(bake.id, bake.lease_owner !== null && bake.lease_owner !== this.#env.owner).finally(() => {
        this.#driving.delete(bake.id);
        this.#woken.delete(bake.id);
        if (!this.#stopped) this.wake();
      });
      this.#driving.set(bake.id, driver);
    }
  }

  async #lease(id: string): Promise<Bake | undefined> {
    const now = this.#env.clock.now();
    return this.#env.store.acquireLease(id, this.#env.owner, now + this.#env.leaseMs, now);
  }

  /** `takeover`: the bake was last leased by another sidecar, whose lease lapsed. */
  async #drive(id: string, takeover: boolean): Promise<void> {
    const { store, log, owner } = this.#env;
    const env: StepEnv = { ...this.#env, signal: this.#stopping.signal };
    // Long steps (boot, ssh, image) outlive one lease period; renew it while they run.
    const heartbeat = setInterval(() => void this.#lease(id).catch(() => undefined), this.#env.leaseMs / 3);
    heartbeat.unref();
    let lastFailure: string | undefined;
    let failures = 0;
    try {
      while (!this.#stopped) {
        let bake: Bake | undefined;
        try {
          bake = await this.#lease(id);
          if (bake && takeover) {
            takeover = false;
            this.#env.metrics.leaseTakenOver();
          }
          if (!bake || bake.state === 'done') return;
          // Publishing ends its own waits at the deadline: the group has its image by then, and a timeout would say otherwise.
          const late = this.#env.clock.now() > bake.deadline && bake.state !== 'publishing';
          const result = !late
            ? await step(env, bake)
            : bake.state === 'cleaning'
              ? await abandonCleanup(this.#env, bake, lastFailure)
              : await finish(this.#env, bake, 'timed_out', `no progress in ${bake.state} before its deadline`);
          if (result !== 'wait') failures = 0;
          if (result === 'lost') return;
          if (result === 'wait') await this.#pause(id);
        } catch (error) {
          // Stopped mid-step (a wait aborted, or a call failing as the store closes): not a failure
          // of the bake, which stays in its state; the step is idempotent, so whoever resumes redoes it.
          if (env.signal.aborted) {
            log.info('bake step interrupted by stop', { bake: id, state: bake?.state });
            return;
          }
          const failure = asAutoamiError(error);
          failures++;
          // Every failure is logged with its count, so a retry that never succeeds is visible as one.
          log.warn('bake step failed', { bake: id, state: bake?.state, attempt: failures, error: failure.message });
          lastFailure = failure.message;
          // A step's waits end at its state's deadline: that is the bake running out of time, not EC2 refusing.
          if (bake && bake.state !== 'cleaning' && error instanceof Ec2WaitTimeout && this.#env.clock.now() >= bake.deadline) {
            await finish(this.#env, bake, 'timed_out', `no progress in ${bake.state} before its deadline: ${failure.message}`).catch(() => this.#pause(id));
            continue;
          }
          // A store outage or an EC2 "not now" is waited out, and so is a failing cleanup: the deadline bounds both.
          if (!bake || error instanceof StoreUnavailableError || isPassingEc2Failure(error) || bake.state === 'cleaning') {
            await this.#pause(id);
          } else {
            await finish(this.#env, bake, 'failed', failure.message).catch(() => this.#pause(id));
          }
        }
      }
    } finally {
      clearInterval(heartbeat);
      await store.releaseLease(id, owner).catch(() => undefined);
    }
  }

  #pause(id: string): Promise<void> {
    if (this.#woken.delete(id)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.#env.tickMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakers.set(id, done);
    }).finally(() => this.#wakers.delete(id));
  }
}
