/** The fake Ec2Source: one FakeEc2 per region, sharing one clock and one id sequence. */
import type { Ec2Source } from '../../runtime/ec2/source.ts';
import type { FakeTime } from './fake-clock.ts';
import { FakeEc2 } from './fake-ec2.ts';

/** One FakeEc2 per region, made on first use, as the real source does. */
export class FakeEc2Source implements Ec2Source {
  readonly #time: FakeTime;
  readonly regions = new Map<string, FakeEc2>();
  #serial = 0;

  constructor(time: FakeTime) {
    this.#time = time;
  }

  get(region: string): FakeEc2 {
    let ec2 = this.regions.get(region);
    // Another region is looked up, not made, by a copy: a source region no test touched has no images anyway.
    if (!ec2) this.regions.set(region, (ec2 = new FakeEc2(region, this.#time, () => ++this.#serial, (other) => this.regions.get(other))));
    return ec2;
  }
}
