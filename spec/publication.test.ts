/**
 * Publication end to end in one sidecar on MariaDB, with the real SDK clients talking to the
 * EC2, SSM and Auto Scaling endpoints: a bake publishes channel latest (SSM parameters in
 * every region, a launch template's default version, an instance refresh); promote
 * publishes another channel; rollback undoes a publication; a failing refresh; bad input.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bakeOnce, call, HOME } from './support/delivery-rig.ts';
import { startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { BASE_IMAGE_OWNER } from './support/ec2/state.ts';
import { seedGroup } from './support/group-params.ts';
import { startMariadb } from './support/mariadb.ts';
import { defaultVersion, makeAsg, makeTemplate } from './support/publication-rig.ts';
import { callOnce, session } from './support/rpc.ts';
import { inState, reportFor, waitForBake } from './support/bake-harness.ts';
import type { Bake } from '../runtime/store/store.ts';
import { startTestSidecar, type TestSidecar } from './support/sidecar.ts';

interface Context {
  endpoint: Ec2Endpoint;
  sidecar: TestSidecar;
}

const COPY = 'eu-west-1';

interface GroupRow {
  name: string;
  channels: Record<string, string | null>;
}
interface HistoryRow {
  event: string;
  outcome: string;
  channel: string | null;
  by: string | null;
  image: string | null;
  reason: string | null;
}

const Publication = suite<Context>('publication');

Publication.before(async (context) => {
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], bootMs: 50, imageMs: 100, copyMs: 150, terminateMs: 20, ssmValidateMs: 30, refreshStepMs: 60 });
  const db = await (await startMariadb()).createDatabase();
  context.sidecar = await startTestSidecar(db, {
    aws: { region: HOME, endpoint: context.endpoint.url },
    puppet: { classifier: 'none' },
    bake: { poll_interval: '50ms', lease: '2s', report_timeout: '60m', concurrency: 8 },
  });
});

Publication.after(async ({ sidecar, endpoint }) => {
  await sidecar.stop();
  await endpoint.stop();
});

const published = (endpoint: Ec2Endpoint, region: string, name: string) => endpoint.ssm.value(region, name);

Publication('should publish a bake to SSM in every region, a new default launch template version and an instance refresh', async ({ endpoint, sidecar }) => {
  const template = await makeTemplate(endpoint, HOME, 'web-fleet');
  makeAsg(endpoint, HOME, 'web-asg', template);
  await call(sidecar.socketPath, 'group.create', seedGroup({
    name: 'web', bootstrap: 'userdata', region: HOME, copy_to: [COPY],
    ssm_parameter: ['/web/ami'], launch_template: ['web-fleet'], instance_refresh: ['web-asg'], min_healthy_percentage: 75,
  }));
  const done = await bakeOnce(sidecar.socketPath, sidecar.store, 'web');
  const copy = (await sidecar.store.listImages('web'))[0]!.copies[COPY]!;
  assert.is(published(endpoint, HOME, '/web/ami'), done.image_id, 'the home parameter holds another image');
  assert.is(published(endpoint, COPY, '/web/ami'), copy, 'the copy region parameter holds another image');
  const parameter = endpoint.ssm.parameters(HOME).get('/web/ami')!;
  assert.is(parameter.dataType, 'aws:ec2:image');
  assert.is(parameter.tags.get('autoami:channel'), 'latest');
  const now = defaultVersion(endpoint, HOME, template);
  assert.equal([now.number, now.imageId, now.instanceType], [2, done.image_id, 'm5.large'], 'the new default version changes the image and nothing else');
  const refreshes = endpoint.autoscaling.refreshes(HOME, 'web-asg');
  assert.is(refreshes.length, 1);
  assert.is(refreshes[0]!.status, 'Successful');
  assert.is(refreshes[0]!.preferences.minHealthyPercentage, 75);
  assert.is(refreshes[0]!.desiredConfiguration?.version, '2', 'the refresh is not onto the version just made');
  const groups = (await call(sidecar.socketPath, 'group.list')) as GroupRow[];
  assert.equal(groups.find((group) => group.name === 'web')!.channels, { latest: done.image_id });
  const history = (await call(sidecar.socketPath, 'group.history', { name: 'web' })) as HistoryRow[];
  assert.equal([history[0]!.event, history[0]!.outcome, history[0]!.channel], ['bake', 'baked', 'latest']);
});

Publication('should publish to channel prod only on promote, recording who and when', async ({ endpoint, sidecar }) => {
  const prodTemplate = await makeTemplate(endpoint, HOME, 'api-prod');
  await call(sidecar.socketPath, 'group.create', seedGroup({ name: 'api', bootstrap: 'userdata', region: HOME, ssm_parameter: ['/api/ami', 'prod:/api/prod/ami'], launch_template: ['prod:api-prod'] }));
  const done = await bakeOnce(sidecar.socketPath, sidecar.store, 'api');
  assert.is(published(endpoint, HOME, '/api/ami'), done.image_id);
  assert.is(published(endpoint, HOME, '/api/prod/ami'), undefined, 'a bake published to prod');
  assert.is(defaultVersion(endpoint, HOME, prodTemplate).count, 1, 'a bake made a prod launch template version');
  const reply = await callOnce(sidecar.socketPath, 'group.promote', { name: 'api', channel: 'prod' }, 'alice');
  assert.is(reply.result?.outcome, 'published', JSON.stringify(reply));
  assert.is(published(endpoint, HOME, '/api/prod/ami'), done.image_id);
  assert.is(defaultVersion(endpoint, HOME, prodTemplate).imageId, done.image_id);
  const groups = (await call(sidecar.socketPath, 'group.list')) as GroupRow[];
  assert.equal(groups.find((group) => group.name === 'api')!.channels, { latest: done.image_id, prod: done.image_id });
  const history = (await call(sidecar.socketPath, 'group.history', { name: 'api' })) as (HistoryRow & { time: string })[];
  assert.equal([history[0]!.event, history[0]!.channel, history[0]!.by, history[0]!.image], ['promote', 'prod', 'alice', done.image_id]);
  assert.ok(Date.now() - Date.parse(history[0]!.time) < 60_000, `promoted at ${history[0]!.time}?`);
});

Publication('should point parameters and the default version back on rollback, with no new version and no refresh', async ({ endpoint, sidecar }) => {
  const template = await makeTemplate(endpoint, HOME, 'db-fleet');
  makeAsg(endpoint, HOME, 'db-asg', template);
  await call(sidecar.socketPath, 'group.create', seedGroup({ name: 'db', bootstrap: 'userdata', region: HOME, ssm_parameter: ['/db/ami'], launch_template: [template], instance_refresh: ['db-asg'] }));
  const first = await bakeOnce(sidecar.socketPath, sidecar.store, 'db');
  const second = await bakeOnce(sidecar.socketPath, sidecar.store, 'db');
  assert.is(published(endpoint, HOME, '/db/ami'), second.image_id);
  const before = defaultVersion(endpoint, HOME, template);
  const refreshes = endpoint.autoscaling.refreshes(HOME, 'db-asg').length;
  const reply = await callOnce(sidecar.socketPath, 'group.rollback', { name: 'db' }, 'bob');
  assert.is(reply.result?.image, first.image_id, JSON.stringify(reply));
  assert.is(published(endpoint, HOME, '/db/ami'), first.image_id, 'the parameter was not pointed back');
  const after = defaultVersion(endpoint, HOME, template);
  assert.is(after.imageId, first.image_id);
  assert.is(after.number, before.number - 1, 'the default is not the version the last bake replaced');
  assert.is(after.count, before.count, 'rollback made a launch template version');
  assert.is(endpoint.autoscaling.refreshes(HOME, 'db-asg').length, refreshes, 'rollback started a refresh without --refresh');
  const group = await sidecar.store.getGroup('db');
  assert.is(group?.image, first.image_id, 'the next bake would not start from the image rolled back to');
});

Publication('should end published_with_errors when the refresh rolls back, leaving the channel where it was', async ({ endpoint, sidecar }) => {
  const template = await makeTemplate(endpoint, HOME, 'queue-fleet');
  makeAsg(endpoint, HOME, 'queue-asg', template);
  await call(sidecar.socketPath, 'group.create', seedGroup({ name: 'queue', bootstrap: 'userdata', region: HOME, ssm_parameter: ['/queue/ami'], launch_template: [template], instance_refresh: ['queue-asg'] }));
  const first = await bakeOnce(sidecar.socketPath, sidecar.store, 'queue');
  endpoint.autoscaling.failNextRefresh(HOME, 'queue-asg', 'rollback');
  // As `run --wait` follows it: the run reports a failure, so the command exits 1.
  const follower = await session(sidecar.socketPath);
  const running = follower.call('bake.run', { groups: ['queue'], wait: true });
  let active: Bake | undefined;
  while (!(active = (await sidecar.store.listBakes({ group_name: 'queue', active: true }))[0])) await new Promise((resolve) => setTimeout(resolve, 20));
  const waiting = await waitForBake(sidecar.store, active.id, inState('awaiting_report'));
  await call(sidecar.socketPath, 'report.submit', reportFor(waiting.certname!));
  const run = await running;
  follower.close();
  assert.is(run.result?.failed, true, JSON.stringify(run));
  const second = (await sidecar.store.getBake(active.id))!;
  assert.is(second.outcome, 'published_with_errors', `${second.outcome}: ${second.reason}`);
  assert.match(second.reason ?? '', /--instance-refresh queue-asg: instance refresh \S+ ended RollbackSuccessful/);
  assert.match(second.reason ?? '', /published all the same: --ssm-parameter \/queue\/ami, --launch-template /, 'the reason hides what was published');
  assert.is(endpoint.autoscaling.refreshes(HOME, 'queue-asg').at(-1)!.status, 'RollbackSuccessful');
  const groups = (await call(sidecar.socketPath, 'group.list')) as GroupRow[];
  assert.equal(groups.find((group) => group.name === 'queue')!.channels, { latest: first.image_id }, 'the channel moved although its refresh failed');
  const history = (await call(sidecar.socketPath, 'group.history', { name: 'queue' })) as HistoryRow[];
  assert.is(history[0]!.outcome, 'published_with_errors');
});

Publication('should refuse targets SSM or AWS would refuse, and unknown channels, storing nothing', async ({ endpoint, sidecar }) => {
  const attempt = async (method: string, params: Record<string, unknown>, field: string, pattern: RegExp) => {
    const reply = await callOnce(sidecar.socketPath, method, params);
    assert.ok(reply.error, `${method} accepted ${JSON.stringify(params)}`);
    assert.is(reply.error.data?.field, field, reply.error.message);
    assert.match(reply.error.message, pattern);
    assert.not.match(reply.error.message, /\n/);
  };
  const group = (overrides: Record<string, unknown>) => seedGroup({ name: 'bad', bootstrap: 'userdata', region: HOME, ...overrides });
  await attempt('group.create', group({ ssm_parameter: ['/aws/ami'] }), 'ssm_parameter', /"\/aws\/ami" .* may not begin with aws or ssm/);
  await attempt('group.create', group({ ssm_parameter: ['app/ami'] }), 'ssm_parameter', /must begin with \//);
  await attempt('group.create', group({ ssm_parameter: ['/a b'] }), 'ssm_parameter[0]', /"\/a b" is not valid/);
  await attempt('group.create', group({ launch_template: ['no-such-template'] }), 'launch_template', /"no-such-template" is not a launch template in us-east-1/);
  await attempt('group.create', group({ instance_refresh: ['prod:no-such-asg'] }), 'instance_refresh', /"no-such-asg" is not an Auto Scaling group in us-east-1/);
  await attempt('group.create', group({ ssm_parameter: ['/x/ami', 'prod:/x/ami'] }), 'ssm_parameter', /in channels latest and prod/);
  assert.is(await sidecar.store.getGroup('bad'), undefined, 'a refused group was stored');
  await call(sidecar.socketPath, 'group.create', group({ ssm_parameter: ['/bad/ami'] }));
  await attempt('group.promote', { name: 'bad', channel: 'prod' }, 'channel', /"prod" is not a channel of group bad \(its channels: latest\)/);
  await attempt('group.update', { name: 'bad', launch_template: ['missing-too'] }, 'launch_template', /"missing-too" is not a launch template/);
  assert.equal((await sidecar.store.getGroup('bad'))?.launch_template, [], 'a refused update was stored');
  assert.equal(endpoint.ssm.parameters(HOME).has('/bad/ami'), false, 'something was published');
});

Publication('should add targets with update_group, replacing lists and keeping other settings', async ({ endpoint, sidecar }) => {
  await call(sidecar.socketPath, 'group.create', seedGroup({ name: 'cache', bootstrap: 'userdata', region: HOME, keep: 7 }));
  const template = await makeTemplate(endpoint, HOME, 'cache-fleet');
  const updated = (await call(sidecar.socketPath, 'group.update', { name: 'cache', ssm_parameter: ['/cache/ami', 'staging:/cache/staging/ami'], launch_template: [template] })) as {
    changed: string[];
    channels: Record<string, string | null>;
  };
  assert.equal(updated.changed, ['launch_template', 'ssm_parameter']);
  assert.equal(updated.channels, { latest: 'ami-0abc1234', staging: null });
  const stored = (await sidecar.store.getGroup('cache'))!;
  assert.equal([stored.keep, stored.ssm_parameter, stored.launch_template], [7, ['/cache/ami', 'staging:/cache/staging/ami'], [template]]);
  const done = await bakeOnce(sidecar.socketPath, sidecar.store, 'cache');
  assert.is(published(endpoint, HOME, '/cache/ami'), done.image_id);
  assert.is(defaultVersion(endpoint, HOME, template).imageId, done.image_id);
});

Publication('should follow a base image only when it resolves, and switch between a parameter and a pattern with update_group', async ({ endpoint, sidecar }) => {
  const parameter = '/aws/service/debian/release/12/latest/amd64';
  const group = seedGroup({ name: 'follower', bootstrap: 'userdata', region: HOME, base_image_from: parameter });
  const refused = await callOnce(sidecar.socketPath, 'group.create', group);
  assert.is(refused.error?.data?.field, 'base_image_from', refused.error?.message);
  assert.is(refused.error?.message, `base_image_from: "${parameter}" resolves to no image: there is no SSM parameter ${parameter} in ${HOME}`);
  assert.is(await sidecar.store.getGroup('follower'), undefined, 'a refused group was stored');
  endpoint.ssm.publishPublic(HOME, parameter, 'ami-0abc1234');
  await call(sidecar.socketPath, 'group.create', group);
  const switched = (await call(sidecar.socketPath, 'group.update', { name: 'follower', base_image_filter: 'debian-12-amd64-*', base_image_owner: BASE_IMAGE_OWNER })) as {
    changed: string[];
    follows: string | null;
  };
  assert.equal(switched.changed, ['base_image_filter', 'base_image_from', 'base_image_owner']);
  assert.is(switched.follows, `debian-12-amd64-* owned by ${BASE_IMAGE_OWNER}`);
  const stored = (await sidecar.store.getGroup('follower'))!;
  assert.equal([stored.base_image_from, stored.base_image_filter, stored.base_image_owner], [null, 'debian-12-amd64-*', BASE_IMAGE_OWNER]);
  const nothing = await callOnce(sidecar.socketPath, 'group.update', { name: 'follower', base_image_filter: 'ubuntu-*' });
  assert.match(nothing.error?.message ?? '', `base_image_filter: "ubuntu-*" resolves to no image: no available image of ${BASE_IMAGE_OWNER} in ${HOME} has a name matching ubuntu-*`);
  assert.is((await sidecar.store.getGroup('follower'))?.base_image_filter, 'debian-12-amd64-*', 'a refused update was stored');
});

Publication('should keep the image a channel is on through retention, however old', async ({ endpoint, sidecar }) => {
  await call(sidecar.socketPath, 'group.create', seedGroup({ name: 'kept', bootstrap: 'userdata', region: HOME, keep: 1, ssm_parameter: ['prod:/kept/prod/ami'] }));
  const first = await bakeOnce(sidecar.socketPath, sidecar.store, 'kept');
  await call(sidecar.socketPath, 'group.promote', { name: 'kept', channel: 'prod' });
  const second = await bakeOnce(sidecar.socketPath, sidecar.store, 'kept');
  await bakeOnce(sidecar.socketPath, sidecar.store, 'kept');
  const state = (image: string) => endpoint.image(image)?.state ?? 'gone';
  assert.is(state(first.image_id!), 'available', 'retention retired the image channel prod is on');
  assert.is.not(state(second.image_id!), 'available', 'retention kept an image nothing is on');
  assert.is(published(endpoint, HOME, '/kept/prod/ami'), first.image_id);
});

Publication.run();
