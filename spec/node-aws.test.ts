/**
 * `puppet node_aws` and `puppet autoami list` through the real `puppet`, the generated
 * faces and a sidecar whose AWS SDK talks to the EC2 endpoint in spec/support.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { CopyImageCommand, EC2Client } from '@aws-sdk/client-ec2';
import { join } from 'node:path';
import { startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { seedGroup } from './support/group-params.ts';
import { puppetEnv, type PuppetEnv } from './support/puppet.ts';
import { session } from './support/rpc.ts';
import { startTestSidecar, type TestSidecar } from './support/sidecar.ts';
import { tempDir } from './support/tmp.ts';

interface Context {
  endpoint: Ec2Endpoint;
  sidecar: TestSidecar;
  puppet: PuppetEnv;
}

const NodeAws = suite<Context>('puppet node_aws');

NodeAws.before(async (context) => {
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], bootMs: 100, imageMs: 300 });
  context.sidecar = await startTestSidecar(undefined, { aws: { region: 'us-east-1', endpoint: context.endpoint.url } });
  context.puppet = puppetEnv({ AUTOAMI_CONFIG: context.sidecar.configFile });
  const client = await session(context.sidecar.socketPath);
  const created = await client.call('group.create', seedGroup({ security_group: 'sg-0123abcd', subnet: 'subnet-0123abcd' }));
  assert.ok(created.result, JSON.stringify(created.error));
  client.close();
});

NodeAws.after(async ({ endpoint, sidecar }) => {
  await sidecar.stop();
  await endpoint.stop();
});

async function launch(puppet: PuppetEnv): Promise<string> {
  const result = await puppet.run(['node_aws', 'launch', 'wordpress']);
  assert.is(result.status, 0, result.stderr);
  const match = /^Successfully launched instance at (\S+)$/m.exec(result.stdout);
  assert.ok(match, result.stdout);
  return match![1]!;
}

NodeAws('should launch one instance of the group from its latest AMI', async ({ puppet, endpoint }) => {
  const dns = await launch(puppet);
  const instance = endpoint.instances().find((each) => each.publicDnsName === dns)!;
  assert.ok(instance, `no instance with DNS ${dns}`);
  assert.is(instance.imageId, 'ami-0abc1234');
  assert.is(instance.instanceType, 't3.micro');
  assert.is(instance.keyName, 'deploy');
  assert.is(instance.tags.get('autoami:group'), 'wordpress');
  assert.ok(instance.tags.get('autoami:launch'));
  assert.not.ok(instance.tags.has('autoami:bake'), 'a launch is not a bake');
});

NodeAws('should image a running instance by DNS name and list the AMI as available', async ({ puppet, endpoint }) => {
  const dns = await launch(puppet);
  const result = await puppet.run(['node_aws', 'new_ami', dns, '--description', 'd', '--manifest-version', '42']);
  assert.is(result.status, 0, result.stderr);
  const imageId = result.stdout.trim().split('\n').pop()!;
  assert.match(imageId, /^ami-[0-9a-f]{17}$/);
  const image = endpoint.image(imageId)!;
  assert.is(image.description, 'd');
  assert.is(image.tags.get('autoami:config-version'), '42');
  assert.is(image.tags.get('autoami:parent-image'), 'ami-0abc1234');
  let listed: Record<string, unknown> | undefined;
  for (let attempt = 0; attempt < 10 && listed?.state !== 'available'; attempt++) {
    const images = await puppet.run(['node_aws', 'images', '--render-as', 'json']);
    assert.is(images.status, 0, images.stderr);
    listed = (JSON.parse(images.stdout) as Record<string, unknown>[]).find((row) => row.id === imageId);
  }
  assert.is(listed?.state, 'available');
  assert.is(listed?.root_device_type, 'ebs');
  const table = await puppet.run(['node_aws', 'images']);
  assert.match(table.stdout, new RegExp(`^us-east-1\\s+${imageId}\\s+autoami-wordpress-\\d{8}T\\d{6}\\.\\d{3}Z\\s+available`, 'm'));
  // A copy in another region is listed under that region when both are asked for.
  const ec2 = new EC2Client({ region: 'eu-west-1', endpoint: endpoint.url });
  const copy = await ec2.send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: imageId, Name: 'copied-by-the-spec' }));
  ec2.destroy();
  const both = await puppet.run(['node_aws', 'images', '--region', 'us-east-1,eu-west-1', '--render-as', 'json']);
  assert.is(both.status, 0, both.stderr);
  const rows = JSON.parse(both.stdout) as { region: string; id: string }[];
  assert.ok(rows.some((row) => row.region === 'us-east-1' && row.id === imageId), both.stdout);
  assert.ok(rows.some((row) => row.region === 'eu-west-1' && row.id === copy.ImageId), both.stdout);
  assert.equal([...new Set(rows.map((row) => row.region))], ['us-east-1', 'eu-west-1'], 'region by region, in the order asked');
});

NodeAws('should terminate the instance with --terminate once the image is available', async ({ puppet, endpoint }) => {
  const dns = await launch(puppet);
  const instanceId = endpoint.instances().find((each) => each.publicDnsName === dns)!.instanceId;
  const result = await puppet.run(['node_aws', 'new_ami', instanceId, '--description', 'd', '--manifest-version', '43', '--terminate']);
  assert.is(result.status, 0, result.stderr);
  const imageId = result.stdout.trim().split('\n').pop()!;
  assert.is(endpoint.image(imageId)?.state, 'available');
  assert.is(endpoint.instance(instanceId)?.state, 'terminated');
});

const refusals: [string, string[], RegExp][] = [
  ['an unknown group', ['node_aws', 'launch', 'nosuch'], /^Error: name: no group named "nosuch"$/],
  ['an unknown server', ['node_aws', 'new_ami', 'ec2-198-51-100-1.compute-1.amazonaws.com', '--description', 'd', '--manifest-version', '1'], /^Error: server: no running or stopped instance .*ec2-198-51-100-1/],
  ['an unknown instance id', ['node_aws', 'new_ami', 'i-0123456789abcdef0', '--description', 'd', '--manifest-version', '1'], /^Error: server: .*i-0123456789abcdef0/],
  ['a bad region', ['node_aws', 'images', '--region', 'mars'], /^Error: region\[0\]: "mars" is not valid \(expected an AWS region/],
  ['a missing description', ['node_aws', 'new_ami', 'i-0123456789abcdef0', '--manifest-version', '1'], /^Error: description: is required$/],
];
for (const [what, args, message] of refusals) {
  NodeAws(`should refuse ${what} with one clear line`, async ({ puppet }) => {
    const result = await puppet.run(args);
    assert.is(result.status, 1);
    assert.is(result.errorLines.length, 1, result.stderr);
    assert.match(result.errorLines[0]!, message);
  });
}

NodeAws('should show unfinished bakes with their instances, and a vanished one as gone', async ({ puppet, sidecar, endpoint }) => {
  const store = sidecar.store;
  const dns = await launch(puppet);
  const live = endpoint.instances().find((each) => each.publicDnsName === dns)!.instanceId;
  // An hour: the sidecar's engine must leave these bakes alone however slowly the puppet runs below go.
  const deadline = Date.now() + 3_600_000;
  const now = Date.now();
  for (const [id, instance] of [['bake-live', live], ['bake-gone', 'i-0fedcba9876543210'], ['bake-queued', null]] as const) {
    await store.createBake({ id, run_id: 'run-1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-0abc1234', deadline });
    // Leased to the spec, so the sidecar's own engine leaves these bakes as they are.
    await store.acquireLease(id, 'spec', deadline, now);
    if (instance) await store.transition(id, 'spec', 'queued', { state: 'booting', instance_id: instance });
  }
  const result = await puppet.run(['autoami', 'list', '--render-as', 'json']);
  assert.is(result.status, 0, result.stderr);
  const rows = Object.fromEntries((JSON.parse(result.stdout) as Record<string, unknown>[]).map((row) => [row.bake, row]));
  assert.is(rows['bake-live']?.instance_state, 'running');
  assert.is(rows['bake-live']?.dns, dns);
  assert.is(rows['bake-gone']?.instance_state, 'gone');
  assert.is(rows['bake-gone']?.state, 'booting');
  assert.is(rows['bake-queued']?.instance_state, 'not launched');
  const table = await puppet.run(['autoami', 'list']);
  assert.match(table.stdout, /^wordpress\s+booting\s+i-0fedcba9876543210\s+gone/m);
});

const Extension = suite('node_aws face extension');

Extension('should add its actions to a node_aws face another module defines', async () => {
  const other = join(tempDir('cp'), 'cloudprov');
  mkdirSync(join(other, 'lib/puppet/face'), { recursive: true });
  writeFileSync(
    join(other, 'lib/puppet/face/node_aws.rb'),
    `require 'puppet/face'
Puppet::Face.define(:node_aws, '0.0.1') do
  summary 'Cloud provisioning for EC2'
  action :list do
    summary 'List running instances (from another module)'
    when_invoked { |options| 'listed' }
  end
end
`,
  );
  const puppet = puppetEnv({}, [join(other, '..')]);
  const help = await puppet.run(['help', 'node_aws']);
  assert.is(help.status, 0, help.stderr);
  for (const action of ['list', 'images', 'new_ami', 'launch']) assert.match(help.stdout, new RegExp(`^\\s+${action}\\s`, 'm'), action);
  assert.match(help.stdout, /Cloud provisioning for EC2/);
  const list = await puppet.run(['node_aws', 'list']);
  assert.is(list.stdout.trim(), 'listed');
});

Extension('should stand alone when no other module defines node_aws', async () => {
  const help = await puppetEnv().run(['help', 'node_aws']);
  assert.is(help.status, 0, help.stderr);
  for (const action of ['images', 'new_ami', 'launch']) assert.match(help.stdout, new RegExp(`^\\s+${action}\\s`, 'm'), action);
});

NodeAws.run();
Extension.run();
