/**
 * The FakeEc2's call log and scripting: every call is recorded before it runs, and any call
 * can be scripted to fail or be intercepted, before or after it takes effect.
 */
import type { CopySpec, Ec2, ImageSpec, LaunchSpec } from '../../runtime/ec2/types.ts';

export type Ec2Method = Exclude<keyof Ec2, 'region'>;

export interface Ec2Call {
  readonly method: Ec2Method;
  readonly args: readonly unknown[];
}

interface Script {
  readonly after: boolean;
  left: number;
  readonly run: (call: Ec2Call) => unknown;
}

export class FakeEc2Calls {
  readonly calls: Ec2Call[] = [];
  readonly #scripts = new Map<Ec2Method, Script[]>();

  /** The next `times` calls of `method` throw `error`; with `after`, once the call took effect (the answer is lost). */
  failNext(method: Ec2Method, error: Error, options: { times?: number; after?: boolean } = {}): void {
    this.#script(method, { after: options.after ?? false, left: options.times ?? 1, run: () => { throw error; } });
  }

  /** Runs `hook` before each of the next `times` calls of `method`; it may wait, throw, or change the world. */
  intercept(method: Ec2Method, hook: (call: Ec2Call) => unknown, times = Number.POSITIVE_INFINITY): void {
    this.#script(method, { after: false, left: times, run: hook });
  }

  count(method: Ec2Method): number {
    return this.calls.filter((call) => call.method === method).length;
  }

  get launches(): LaunchSpec[] {
    return this.#argsOf('launch', isLaunchSpec);
  }

  get imageSpecs(): ImageSpec[] {
    return this.#argsOf('createImage', isImageSpec);
  }

  get copySpecs(): CopySpec[] {
    return this.#argsOf('copyImage', isCopySpec);
  }

  /** Every id named in a TerminateInstances call, once per call. */
  get terminations(): string[] {
    return this.calls.filter((call) => call.method === 'terminate').flatMap((call) => stringsOf(call.args[0]));
  }

  /** Every id named in a DeregisterImage call. */
  get deregistrations(): string[] {
    return this.calls.filter((call) => call.method === 'deregisterImage').map((call) => String(call.args[0]));
  }

  #script(method: Ec2Method, script: Script): void {
    this.#scripts.set(method, [...(this.#scripts.get(method) ?? []), script]);
  }

  async #runScript(call: Ec2Call, after: boolean): Promise<void> {
    const script = (this.#scripts.get(call.method) ?? []).find((each) => each.after === after && each.left > 0);
    if (!script) return;
    script.left--;
    await script.run(call);
  }

  /** Records the call, runs its scripts around `body`. */
  protected async record<T>(method: Ec2Method, args: readonly unknown[], body: () => T | Promise<T>): Promise<T> {
    const call = { method, args };
    this.calls.push(call);
    await this.#runScript(call, false);
    const result = await body();
    await this.#runScript(call, true);
    return result;
  }

  #argsOf<T>(method: Ec2Method, is: (value: unknown) => value is T): T[] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args[0]).filter(is);
  }
}

function isLaunchSpec(value: unknown): value is LaunchSpec {
  return typeof value === 'object' && value !== null && 'clientToken' in value;
}

function isCopySpec(value: unknown): value is CopySpec {
  return typeof value === 'object' && value !== null && 'sourceImageId' in value && 'sourceRegion' in value;
}

function isImageSpec(value: unknown): value is ImageSpec {
  return typeof value === 'object' && value !== null && 'instanceId' in value && 'noReboot' in value;
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}
