/** The Auto Scaling stand-in, driven by the real @aws-sdk/client-auto-scaling over HTTP. */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AutoScalingClient,
  CancelInstanceRefreshCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
  type InstanceRefresh,
  type StartInstanceRefreshCommandInput,
} from '@aws-sdk/client-auto-scaling';
import { AutoScalingWorld, handleAutoScaling } from './support/autoscaling/index.ts';
import { TestClock } from './support/ec2/clock.ts';
import { Faults } from './support/ec2/faults.ts';
import type { LaunchTemplateRecord } from './support/ec2/model.ts';
import { Ec2World, REGIONS, signedRegion } from './support/ec2/regions.ts';
import { RequestCounts, readBody } from './support/ec2/server.ts';

const REGION = 'us-east-1';
const STEP_MS = 100;
const ACCOUNT = '123456789012';

interface Rig {
  client: AutoScalingClient;
  url: string;
  world: AutoScalingWorld;
  ec2: Ec2World;
  clock: TestClock;
  faults: Faults;
  counts: RequestCounts;
  /** A template in us-east-1 with versions 1 and 2. */
  template: LaunchTemplateRecord;
  clientFor(region: string): AutoScalingClient;
}

let templateSeq = 0;

/** Straight into the region's state: these tests are about Auto Scaling, not CreateLaunchTemplate. */
function addTemplate(ec2: Ec2World, region: string, name: string, imageIds: string[]): LaunchTemplateRecord {
  const state = ec2.state(region);
  templateSeq += 1;
  const record: LaunchTemplateRecord = {
    seq: state.nextSeq(),
    createdAt: ec2.clock.now(),
    launchTemplateId: `lt-${templateSeq.toString(16).padStart(17, '0')}`,
    name,
    createdBy: `arn:aws:iam::${ACCOUNT}:root`,
    defaultVersion: 1,
    tags: new Map(),
    versions: imageIds.map((imageId, i) => ({
      versionNumber: i + 1,
      createdAt: ec2.clock.now(),
      data: { imageId, tagSpecifications: new Map() },
    })),
  };
  state.launchTemplates.set(record.launchTemplateId, record);
  return record;
}

/**
 * A manual clock, so a refresh moves exactly one status per clock.advance(STEP_MS) and the
 * tests read each status rather than racing it.
 */
async function withAsg(body: (rig: Rig) => Promise<void>): Promise<void> {
  const clock = new TestClock({ manual: true, start: Date.UTC(2025, 0, 2, 3, 4, 5) });
  const ec2 = new Ec2World(clock, {
    defaultRegion: REGION,
    baseImages: [],
    optedOut: REGIONS.filter((r) => r.optIn).map((r) => r.name),
    notOptedInError: 'AuthFailure',
    state: {
      accountId: ACCOUNT,
      bootMs: 100,
      imageMs: 200,
      copyMs: 300,
      stopMs: 50,
      terminateMs: 50,
      terminatedVisibleMs: 60_000,
      deregisteredVisibleMs: 0,
    },
  });
  const world = new AutoScalingWorld(ec2, { refreshStepMs: STEP_MS });
  const faults = new Faults(clock, 1);
  const counts = new RequestCounts();
  const crashes: unknown[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
      const reply = await handleAutoScaling(
        { autoscaling: world, faults, counts, onCrash: (e) => crashes.push(e) },
        {
          region: signedRegion(req.headers.authorization, query.get('X-Amz-Credential') ?? undefined),
          body: req.method === 'GET' ? query.toString() : raw,
        },
      );
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: AutoScalingClient[] = [];
  const clientFor = (region: string): AutoScalingClient => {
    const made = new AutoScalingClient({
      endpoint: url,
      region,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    clients.push(made);
    return made;
  };
  const template = addTemplate(ec2, REGION, 'web', ['ami-0000000000000000a', 'ami-0000000000000000b']);
  try {
    await body({ client: clientFor(REGION), url, world, ec2, clock, faults, counts, template, clientFor });
    assert.equal(crashes, [], 'the stand-in crashed');
  } finally {
    for (const c of clients) c.destroy();
    clock.dispose();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

interface Failure {
  name: string;
  message: string;
  status: number | undefined;
}

async function failure(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  assert.unreachable('expected the request to fail');
  throw new Error('unreachable');
}

async function refreshOf(rig: Rig, group: string, id: string): Promise<InstanceRefresh> {
  const out = await rig.client.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: group, InstanceRefreshIds: [id] }));
  assert.is(out.InstanceRefreshes?.length, 1);
  return out.InstanceRefreshes?.[0] as InstanceRefresh;
}

async function start(rig: Rig, input: StartInstanceRefreshCommandInput): Promise<string> {
  const out = await rig.client.send(new StartInstanceRefreshCommand(input));
  assert.type(out.InstanceRefreshId, 'string');
  return out.InstanceRefreshId as string;
}

/** Steps the clock one status at a time, recording every status seen. */
async function follow(rig: Rig, group: string, id: string, steps: number): Promise<string[]> {
  const seen = [(await refreshOf(rig, group, id)).Status as string];
  for (let i = 0; i < steps; i++) {
    rig.clock.advance(STEP_MS);
    seen.push((await refreshOf(rig, group, id)).Status as string);
  }
  return seen;
}

// ---------------------------------------------------------------------------------------------

const Groups = suite('autoscaling DescribeAutoScalingGroups');

Groups('should describe a group with its launch template, ARN, sizes and empty lists', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId, version: '1', desired: 2, min: 1, max: 4 });
    const out = await rig.client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web-asg'] }));
    assert.is(out.AutoScalingGroups?.length, 1);
    const group = out.AutoScalingGroups?.[0];
    assert.is(group?.AutoScalingGroupName, 'web-asg');
    assert.match(group?.AutoScalingGroupARN ?? '', /^arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:[0-9a-f-]{36}:autoScalingGroupName\/web-asg$/);
    assert.equal(group?.LaunchTemplate, { LaunchTemplateId: rig.template.launchTemplateId, LaunchTemplateName: 'web', Version: '1' });
    assert.equal([group?.MinSize, group?.MaxSize, group?.DesiredCapacity], [1, 4, 2]);
    assert.equal(group?.AvailabilityZones, ['us-east-1a']);
    assert.is(group?.HealthCheckType, 'EC2');
    assert.equal(group?.Instances, []);
    assert.equal(group?.Tags, []);
    assert.is(group?.CreatedTime?.toISOString(), '2025-01-02T03:04:05.000Z');
  }),
);

Groups('should leave out names it does not know, without an error', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId });
    const out = await rig.client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['nope', 'web-asg'] }));
    assert.equal(out.AutoScalingGroups?.map((g) => g.AutoScalingGroupName), ['web-asg']);
    const none = await rig.client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['nope'] }));
    assert.equal(none.AutoScalingGroups, []);
  }),
);

Groups('should default a group to the $Default version, as CreateAutoScalingGroup does', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId });
    const out = await rig.client.send(new DescribeAutoScalingGroupsCommand({}));
    assert.is(out.AutoScalingGroups?.[0]?.LaunchTemplate?.Version, '$Default');
  }),
);

Groups('should page by MaxRecords, in name order, with a NextToken until the last page', () =>
  withAsg(async (rig) => {
    for (const name of ['c', 'a', 'b']) rig.world.createGroup(REGION, { name, launchTemplateId: rig.template.launchTemplateId });
    const first = await rig.client.send(new DescribeAutoScalingGroupsCommand({ MaxRecords: 2 }));
    assert.equal(first.AutoScalingGroups?.map((g) => g.AutoScalingGroupName), ['a', 'b']);
    assert.type(first.NextToken, 'string');
    const second = await rig.client.send(new DescribeAutoScalingGroupsCommand({ MaxRecords: 2, NextToken: first.NextToken }));
    assert.equal(second.AutoScalingGroups?.map((g) => g.AutoScalingGroupName), ['c']);
    assert.is(second.NextToken, undefined);
  }),
);

Groups('should keep each region apart', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId });
    const out = await rig.clientFor('eu-west-1').send(new DescribeAutoScalingGroupsCommand({}));
    assert.equal(out.AutoScalingGroups, []);
  }),
);

Groups('should refuse a MaxRecords above 100 and a NextToken it never issued', () =>
  withAsg(async (rig) => {
    const big = await failure(rig.client.send(new DescribeAutoScalingGroupsCommand({ MaxRecords: 101 })));
    assert.is(big.name, 'ValidationError');
    assert.is(big.status, 400);
    const token = await failure(rig.client.send(new DescribeAutoScalingGroupsCommand({ NextToken: 'bogus' })));
    assert.is(token.name, 'InvalidNextToken');
  }),
);

Groups.run();

// ---------------------------------------------------------------------------------------------

const Refresh = suite('autoscaling StartInstanceRefresh and DescribeInstanceRefreshes');

Refresh('should go Pending → InProgress → Successful and then apply the desired configuration', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId, version: '1', desired: 4 });
    const id = await start(rig, {
      AutoScalingGroupName: 'web-asg',
      DesiredConfiguration: { LaunchTemplate: { LaunchTemplateName: 'web', Version: '2' } },
      Preferences: { MinHealthyPercentage: 50, SkipMatching: true },
    });
    const pending = await refreshOf(rig, 'web-asg', id);
    assert.is(pending.Status, 'Pending');
    assert.is(pending.EndTime, undefined);
    assert.is(pending.Preferences?.MinHealthyPercentage, 50);
    assert.is(pending.Preferences?.SkipMatching, true);
    assert.is(pending.Preferences?.AutoRollback, false);
    assert.equal(pending.DesiredConfiguration?.LaunchTemplate, { LaunchTemplateId: rig.template.launchTemplateId, LaunchTemplateName: 'web', Version: '2' });

    rig.clock.advance(STEP_MS);
    rig.clock.advance(STEP_MS);
    const halfway = await refreshOf(rig, 'web-asg', id);
    assert.is(halfway.Status, 'InProgress');
    assert.is(halfway.PercentageComplete, 50);
    assert.is(halfway.ProgressDetails?.LivePoolProgress?.InstancesToUpdate, 2);
    const before = await rig.client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web-asg'] }));
    assert.is(before.AutoScalingGroups?.[0]?.LaunchTemplate?.Version, '1', 'applied before the refresh finished');

    rig.clock.advance(STEP_MS);
    const done = await refreshOf(rig, 'web-asg', id);
    assert.is(done.Status, 'Successful');
    assert.is(done.PercentageComplete, 100);
    assert.is(done.InstancesToUpdate, 0);
    assert.is(done.StartTime?.toISOString(), '2025-01-02T03:04:05.000Z');
    assert.is(done.EndTime?.toISOString(), new Date(Date.UTC(2025, 0, 2, 3, 4, 5) + 3 * STEP_MS).toISOString());
    const after = await rig.client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web-asg'] }));
    assert.equal(after.AutoScalingGroups?.[0]?.LaunchTemplate, { LaunchTemplateId: rig.template.launchTemplateId, LaunchTemplateName: 'web', Version: '2' });
  }),
);

Refresh('should default to the Rolling strategy and a MinHealthyPercentage of 90', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId });
    const id = await start(rig, { AutoScalingGroupName: 'web-asg' });
    const refresh = await refreshOf(rig, 'web-asg', id);
    assert.is(refresh.Strategy, 'Rolling');
    assert.is(refresh.Preferences?.MinHealthyPercentage, 90);
    assert.is(refresh.DesiredConfiguration, undefined);
  }),
);

Refresh('should refuse a second refresh while one is active, and allow one once it ends', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId });
    await start(rig, { AutoScalingGroupName: 'web-asg' });
    const busy = await failure(rig.client.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'web-asg' })));
    assert.is(busy.name, 'InstanceRefreshInProgressFault');
    assert.is(busy.status, 400);
    rig.clock.advance(STEP_MS);
    const stillBusy = await failure(rig.client.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'web-asg' })));
    assert.is(stillBusy.name, 'InstanceRefreshInProgressFault');
    rig.clock.runAll();
    await start(rig, { AutoScalingGroupName: 'web-asg' });
    assert.is(rig.world.refreshes(REGION, 'web-asg').length, 2);
    assert.is(rig.counts.errors('StartInstanceRefresh', 'InstanceRefreshInProgress'), 2);
  }),
);

Refresh('should list refreshes newest first and page them', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await start(rig, { AutoScalingGroupName: 'web-asg' }));
      rig.clock.runAll();
    }
    const first = await rig.client.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'web-asg', MaxRecords: 2 }));
    assert.equal(first.InstanceRefreshes?.map((r) => r.InstanceRefreshId), [ids[2], ids[1]]);
    const rest = await rig.client.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'web-asg', MaxRecords: 2, NextToken: first.NextToken }));
    assert.equal(rest.InstanceRefreshes?.map((r) => r.InstanceRefreshId), [ids[0]]);
    assert.is(rest.NextToken, undefined);
    assert.equal(rig.world.refreshes(REGION, 'web-asg').map((r) => r.instanceRefreshId), ids);
  }),
);

Refresh('should refuse a group it does not know with ValidationError', () =>
  withAsg(async (rig) => {
    const unknown = await failure(rig.client.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'nope' })));
    assert.is(unknown.name, 'ValidationError');
    assert.is(unknown.status, 400);
    assert.match(unknown.message, /AutoScalingGroup name not found/);
  }),
);

Refresh('should refuse a desired template or version the region does not have', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId, version: '1' });
    const version = await failure(
      rig.client.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: 'web-asg',
          DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: rig.template.launchTemplateId, Version: '7' } },
        }),
      ),
    );
    assert.is(version.name, 'ValidationError');
    assert.match(version.message, /version 7/);
    const elsewhere = addTemplate(rig.ec2, 'eu-west-1', 'web', ['ami-0000000000000000c']);
    const template = await failure(
      rig.client.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: 'web-asg',
          DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: elsewhere.launchTemplateId, Version: '1' } },
        }),
      ),
    );
    assert.is(template.name, 'ValidationError');
    assert.is(rig.world.refreshes(REGION, 'web-asg').length, 0);
  }),
);

Refresh('should refuse AutoRollback without a desired configuration or from a $Latest group', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'fixed', launchTemplateId: rig.template.launchTemplateId, version: '1' });
    rig.world.createGroup(REGION, { name: 'latest', launchTemplateId: rig.template.launchTemplateId, version: '$Latest' });
    const bare = await failure(rig.client.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'fixed', Preferences: { AutoRollback: true } })));
    assert.is(bare.name, 'ValidationError');
    const latest = await failure(
      rig.client.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: 'latest',
          DesiredConfiguration: { LaunchTemplate: { LaunchTemplateName: 'web', Version: '2' } },
          Preferences: { AutoRollback: true },
        }),
      ),
    );
    assert.is(latest.name, 'ValidationError');
    assert.match(latest.message, /\$Latest/);
  }),
);

Refresh('should refuse a MinHealthyPercentage above 100', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId });
    const bad = await failure(rig.client.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'web-asg', Preferences: { MinHealthyPercentage: 101 } })));
    assert.is(bad.name, 'ValidationError');
    assert.match(bad.message, /minHealthyPercentage/);
  }),
);

Refresh.run();

// ---------------------------------------------------------------------------------------------

const Failing = suite('autoscaling refresh failures');

const TO_V2 = { LaunchTemplate: { LaunchTemplateName: 'web', Version: '2' } };

Failing('should roll back under AutoRollback: InProgress → RollbackInProgress → RollbackSuccessful', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId, version: '1', desired: 4 });
    rig.world.failNextRefresh(REGION, 'web-asg', 'rollback');
    const id = await start(rig, { AutoScalingGroupName: 'web-asg', DesiredConfiguration: TO_V2, Preferences: { AutoRollback: true } });
    assert.equal(await follow(rig, 'web-asg', id, 4), ['Pending', 'InProgress', 'InProgress', 'RollbackInProgress', 'RollbackSuccessful']);
    const done = await refreshOf(rig, 'web-asg', id);
    assert.type(done.StatusReason, 'string');
    assert.type(done.RollbackDetails?.RollbackReason, 'string');
    assert.instance(done.RollbackDetails?.RollbackStartTime, Date);
    assert.is(done.RollbackDetails?.PercentageCompleteOnRollback, 100);
    assert.is(done.RollbackDetails?.ProgressDetailsOnRollback?.LivePoolProgress?.PercentageComplete, 100);
    assert.instance(done.EndTime, Date);
    const group = await rig.client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web-asg'] }));
    assert.is(group.AutoScalingGroups?.[0]?.LaunchTemplate?.Version, '1', 'a rolled-back refresh must not apply its configuration');
  }),
);

Failing('should only fail, without rollback, when AutoRollback was not asked for', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId, version: '1' });
    rig.world.failNextRefresh(REGION, 'web-asg', 'rollback');
    const id = await start(rig, { AutoScalingGroupName: 'web-asg', DesiredConfiguration: TO_V2 });
    assert.equal(await follow(rig, 'web-asg', id, 3), ['Pending', 'InProgress', 'InProgress', 'Failed']);
    const done = await refreshOf(rig, 'web-asg', id);
    assert.is(done.RollbackDetails, undefined);
    assert.type(done.StatusReason, 'string');
    assert.is(rig.world.groups(REGION).get('web-asg')?.launchTemplate.version, '1');
  }),
);

Failing("should fail without rollback under 'failed', even with AutoRollback, and only once", () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId, version: '1' });
    rig.world.failNextRefresh(REGION, 'web-asg', 'failed');
    const id = await start(rig, { AutoScalingGroupName: 'web-asg', DesiredConfiguration: TO_V2, Preferences: { AutoRollback: true } });
    rig.clock.runAll();
    assert.is((await refreshOf(rig, 'web-asg', id)).Status, 'Failed');
    const again = await start(rig, { AutoScalingGroupName: 'web-asg', DesiredConfiguration: TO_V2, Preferences: { AutoRollback: true } });
    rig.clock.runAll();
    assert.is((await refreshOf(rig, 'web-asg', again)).Status, 'Successful');
    assert.is(rig.world.groups(REGION).get('web-asg')?.launchTemplate.version, '2');
  }),
);

Failing.run();

// ---------------------------------------------------------------------------------------------

const Cancel = suite('autoscaling CancelInstanceRefresh');

Cancel('should cancel the active refresh: Cancelling, then Cancelled, configuration untouched', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId, version: '1' });
    const id = await start(rig, { AutoScalingGroupName: 'web-asg', DesiredConfiguration: TO_V2 });
    rig.clock.advance(STEP_MS);
    const out = await rig.client.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: 'web-asg' }));
    assert.is(out.InstanceRefreshId, id);
    assert.is((await refreshOf(rig, 'web-asg', id)).Status, 'Cancelling');
    rig.clock.runAll();
    const done = await refreshOf(rig, 'web-asg', id);
    assert.is(done.Status, 'Cancelled');
    assert.instance(done.EndTime, Date);
    assert.is(rig.world.groups(REGION).get('web-asg')?.launchTemplate.version, '1');
  }),
);

Cancel('should answer ActiveInstanceRefreshNotFound when nothing is running', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web-asg', launchTemplateId: rig.template.launchTemplateId });
    const none = await failure(rig.client.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: 'web-asg' })));
    assert.is(none.name, 'ActiveInstanceRefreshNotFoundFault');
    assert.is(none.status, 400);
    await start(rig, { AutoScalingGroupName: 'web-asg' });
    rig.clock.runAll();
    const finished = await failure(rig.client.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: 'web-asg' })));
    assert.is(finished.name, 'ActiveInstanceRefreshNotFoundFault');
  }),
);

Cancel.run();

// ---------------------------------------------------------------------------------------------

const Protocol = suite('autoscaling protocol, faults and regions');

Protocol('should answer Throttling when the action is throttled, and count it', () =>
  withAsg(async (rig) => {
    rig.faults.set('DescribeAutoScalingGroups', { throttleRate: 1 });
    const throttled = await failure(rig.client.send(new DescribeAutoScalingGroupsCommand({})));
    assert.is(throttled.name, 'Throttling');
    assert.is(throttled.status, 400);
    assert.is(rig.counts.errors('DescribeAutoScalingGroups', 'Throttling'), 1);
    rig.faults.clear('DescribeAutoScalingGroups');
    await rig.client.send(new DescribeAutoScalingGroupsCommand({}));
    assert.is(rig.counts.ok('DescribeAutoScalingGroups'), 1);
  }),
);

Protocol('should refuse a region the account has not enabled with InvalidClientTokenId', () =>
  withAsg(async (rig) => {
    const refused = await failure(rig.clientFor('af-south-1').send(new DescribeAutoScalingGroupsCommand({})));
    assert.is(refused.name, 'InvalidClientTokenId');
    assert.is(refused.status, 403);
    rig.ec2.setOptIn('af-south-1', true);
    const out = await rig.clientFor('af-south-1').send(new DescribeAutoScalingGroupsCommand({}));
    assert.equal(out.AutoScalingGroups, []);
  }),
);

Protocol('should answer an unknown Action with InvalidAction in an Auto Scaling ErrorResponse', () =>
  withAsg(async (rig) => {
    const res = await fetch(rig.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=CreateAutoScalingGroup&Version=2011-01-01',
    });
    const text = await res.text();
    assert.is(res.status, 400);
    assert.is(res.headers.get('content-type'), 'text/xml');
    assert.type(res.headers.get('x-amzn-requestid'), 'string');
    assert.match(text, /<ErrorResponse xmlns="http:\/\/autoscaling\.amazonaws\.com\/doc\/2011-01-01\/"><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code>/);
  }),
);

Protocol('should accept a GET with the parameters in the query string', () =>
  withAsg(async (rig) => {
    rig.world.createGroup(REGION, { name: 'web&asg', launchTemplateId: rig.template.launchTemplateId });
    const res = await fetch(`${rig.url}/?Action=DescribeAutoScalingGroups&Version=2011-01-01`);
    const text = await res.text();
    assert.is(res.status, 200);
    assert.match(text, /<DescribeAutoScalingGroupsResult><AutoScalingGroups><member><AutoScalingGroupName>web&amp;asg<\/AutoScalingGroupName>/);
    assert.match(text, /<ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata><\/DescribeAutoScalingGroupsResponse>$/);
  }),
);

Protocol.run();
