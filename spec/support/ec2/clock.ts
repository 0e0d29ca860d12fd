interface Timer {
  due: number;
  seq: number;
  fn: () => void;
  handle?: ReturnType<typeof setTimeout>;
}

export interface ClockOptions {
  /** Time moves only through advance()/runAll(); nothing fires on its own. */
  manual?: boolean;
  /** Epoch ms the manual clock starts at. */
  start?: number;
}

/**
 * Wall time plus an offset tests can push forward. Real mode fires timers with setTimeout
 * so a sidecar polling the endpoint sees states change on their own; advance() lets a test
 * skip a delay without sleeping, and manual mode removes real time altogether.
 */
export class TestClock {
  readonly manual: boolean;
  private offset = 0;
  private readonly base: number;
  private readonly timers = new Set<Timer>();
  private seq = 0;

  constructor(options: ClockOptions = {}) {
    this.manual = options.manual ?? false;
    this.base = options.start ?? Date.now();
  }

  now(): number {
    return (this.manual ? this.base : Date.now()) + this.offset;
  }

  after(ms: number, fn: () => void): void {
    const timer: Timer = { due: this.now() + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(timer);
    if (!this.manual) {
      timer.handle = setTimeout(() => this.fire(timer), Math.max(0, ms));
      // A forgotten endpoint must not keep a test process alive.
      timer.handle.unref();
    }
  }

  /** Moves time forward and fires, in due order, every timer that has come due. */
  advance(ms: number): void {
    this.offset += Math.max(0, ms);
    for (;;) {
      const next = this.earliest();
      if (!next || next.due > this.now()) return;
      this.fire(next);
    }
  }

  /** Fires everything outstanding, including timers the fired ones schedule. */
  runAll(): void {
    for (let next = this.earliest(); next; next = this.earliest()) {
      if (next.due > this.now()) this.offset += next.due - this.now();
      this.fire(next);
    }
  }

  pending(): number {
    return this.timers.size;
  }

  dispose(): void {
    for (const timer of this.timers) if (timer.handle) clearTimeout(timer.handle);
    this.timers.clear();
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) {
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }

  private fire(timer: Timer): void {
    // advance() and the real setTimeout can both reach the same timer.
    if (!this.timers.delete(timer)) return;
    if (timer.handle) clearTimeout(timer.handle);
    timer.fn();
  }
}
