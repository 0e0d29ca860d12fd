/** The EC2 endpoint's seeded faults the chaos run stands on: a rate of failed images and jittered state changes. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CreateImageCommand, DescribeImagesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { describeOne, launchOne, runningInstance, withEc2 } from './support/ec2-endpoint-client.ts';
import type { Ec2Endpoint } from './support/ec2-endpoint.ts';
import { TestClock } from './support/ec2-endpoint.ts';
import { Faults } from './support/ec2/faults.ts';

const Chaos = suite('ec2 seeded chaos faults');

/** 'F' for an image that ended failed, '.' for one that became available. */
async function imagePattern(seed: number, rate: number, count: number): Promise<string> {
  let pattern = '';
  await withEc2({ seed, bootMs: 10, imageMs: 10 }, async (ep, ec2) => {
    ep.faults.set('CreateImage', { imageFailureRate: rate });
    const instanceId = await runningInstance(ep, ec2);
    for (let n = 0; n < count; n++) {
      const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: `chaos-${n}` }));
      ep.clock.advance(100);
      const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images?.[0];
      pattern += image?.State === 'failed' ? 'F' : '.';
    }
  });
  return pattern;
}

Chaos('should fail a seeded fraction of images, the same ones for the same seed', async () => {
  const first = await imagePattern(11, 0.25, 40);
  const failed = [...first].filter((c) => c === 'F').length;
  assert.ok(failed >= 4 && failed <= 18, `${failed} of 40 failed at rate 0.25: ${first}`);
  assert.is(await imagePattern(11, 0.25, 40), first);
  assert.is.not(await imagePattern(12, 0.25, 40), first);
});

Chaos('should refuse an image failure rate outside 0..1', () => {
  const faults = new Faults(new TestClock({ manual: true }), 1);
  assert.throws(() => faults.set('CreateImage', { imageFailureRate: 1.5 }), /imageFailureRate must be within 0\.\.1/);
});

/** How long the instance took to reach `state`, in 50 ms steps of the manual clock. */
async function timeTo(ep: Ec2Endpoint, check: () => Promise<boolean>): Promise<number> {
  for (let ms = 0; ms <= 10_000; ms += 50) {
    if (await check()) return ms;
    ep.clock.advance(50);
  }
  throw new Error('the change never happened');
}

Chaos('should add a seeded extra delay, within the bound, to boots and terminations', async () => {
  const boots = async (seed: number): Promise<number[]> => {
    const times: number[] = [];
    await withEc2({ seed, bootMs: 500, terminateMs: 200 }, async (ep, ec2) => {
      ep.faults.setStateDelayJitter({ boot: 1000, terminate: 400 });
      for (let n = 0; n < 6; n++) {
        const id = await launchOne(ec2);
        times.push(await timeTo(ep, async () => (await describeOne(ec2, id)).State?.Name === 'running'));
        await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
        const terminate = await timeTo(ep, async () => (await describeOne(ec2, id)).State?.Name === 'terminated');
        assert.ok(terminate >= 200 && terminate <= 650, `terminate took ${terminate} ms`);
      }
    });
    return times;
  };
  const first = await boots(5);
  assert.ok(first.every((ms) => ms >= 500 && ms <= 1550), JSON.stringify(first));
  assert.ok(new Set(first).size > 1, `no jitter: ${JSON.stringify(first)}`);
  assert.equal(await boots(5), first);
});

Chaos('should take the jitter off again with 0', () => {
  const faults = new Faults(new TestClock({ manual: true }), 3);
  faults.setStateDelayJitter({ image: 2000 });
  assert.ok([1, 2, 3, 4, 5].some(() => faults.extraDelayMs('image') > 0));
  faults.setStateDelayJitter({ image: 0 });
  assert.is(faults.extraDelayMs('image'), 0);
  assert.throws(() => faults.setStateDelayJitter({ boot: -1 }), /at least 0 ms/);
});

Chaos.run();
