/** Ec2Regions: one Ec2Adapter per region. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Ec2Regions } from '../runtime/ec2/regions.ts';
import type { Ec2Error } from '../runtime/errors.ts';
import { Metrics } from '../runtime/metrics.ts';
import { POLL_MS, rejection, withRig } from './support/ec2-rig.ts';

const regions = suite('Ec2Regions');

regions('should make one adapter per region, on first use', () =>
  withRig({}, async ({ ep }) => {
    const all = new Ec2Regions({ region: 'us-east-1', endpoint: ep.url, profile: undefined }, { pollIntervalMs: POLL_MS, metrics: Metrics.off() });
    try {
      assert.equal(all.regions(), []);
      const east = all.get();
      assert.is(east.region, 'us-east-1');
      assert.is(all.get('us-east-1'), east);
      const west = all.get('eu-west-1');
      assert.is(west.region, 'eu-west-1');
      assert.is.not(west, east);
      await Promise.all([east.ping(), west.ping()]);
      assert.equal(all.regions(), ['us-east-1', 'eu-west-1']);
      const error = await rejection(all.get('xx-nowhere-1').ping());
      assert.is((error as Ec2Error).data?.field, 'aws.region');
    } finally {
      all.destroy();
    }
  }),
);

regions.run();
