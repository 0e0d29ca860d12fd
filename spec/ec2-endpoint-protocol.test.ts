/** The EC2 endpoint's Query API itself: form fields in, XML out, errors, tags and regions. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CreateTagsCommand, DescribeImagesCommand, DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import { bakeImage, describeOne, launch, rejection, withEc2 } from './support/ec2-endpoint-client.ts';
import { Params, renderError, renderResponse } from './support/ec2/wire.ts';

const Wire = suite('ec2 wire');

Wire('should rebuild indexed lists and nested structures from form fields', () => {
  const p = Params.parse(
    'Action=RunInstances&InstanceId.2=i-b&InstanceId.1=i-a&TagSpecification.1.ResourceType=instance' +
      '&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=a%20b%2Bc&MetadataOptions.HttpTokens=required',
  );
  assert.equal(p.strings('InstanceId'), ['i-a', 'i-b']);
  const [spec] = p.list('TagSpecification');
  assert.is(spec?.str('ResourceType'), 'instance');
  assert.is(spec?.list('Tag')[0]?.str('Value'), 'a b+c');
  assert.is(p.str('MetadataOptions.HttpTokens'), 'required');
  assert.is(p.fingerprint(), Params.parse('MetadataOptions.HttpTokens=required&InstanceId.1=i-a&InstanceId.2=i-b&TagSpecification.1.Tag.1.Value=a b%2Bc&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.ResourceType=instance&Action=X').fingerprint());
});

Wire('should render lists as item elements and escape text', () => {
  const xml = renderResponse('DescribeThings', 'req-1', { thingSet: [{ name: 'a<&>"\'b' }], gone: undefined, flag: true });
  assert.is(
    xml,
    '<?xml version="1.0" encoding="UTF-8"?>\n<DescribeThingsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' +
      '<requestId>req-1</requestId><thingSet><item><name>a&lt;&amp;&gt;&quot;&apos;b</name></item></thingSet><flag>true</flag></DescribeThingsResponse>',
  );
  assert.is(
    renderError('X.Y', 'bad <thing>', 'r'),
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>X.Y</Code><Message>bad &lt;thing&gt;</Message></Error></Errors><RequestID>r</RequestID></Response>',
  );
});

Wire.run();

// ---------------------------------------------------------------------------------------------

const Misc = suite('ec2 tags, regions and protocol errors');

Misc('should tag instances, images and snapshots, keeping odd characters intact', () =>
  withEc2({}, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-tags-1');
    const instanceId = ep.instances()[0]?.instanceId as string;
    const snapshotId = ep.image(imageId)?.blockDevices[0]?.snapshotId as string;
    const odd = `a<b>&"c'd ü +%`;
    await ec2.send(new CreateTagsCommand({ Resources: [instanceId, imageId, snapshotId], Tags: [{ Key: 'Name', Value: odd }] }));
    assert.equal((await describeOne(ec2, instanceId)).Tags, [{ Key: 'Name', Value: odd }]);
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
    assert.equal(image?.Tags, [{ Key: 'Name', Value: odd }]);
    assert.is(ep.snapshots().find((s) => s.snapshotId === snapshotId)?.tags.get('Name'), odd);
    const unknown = await rejection(ec2.send(new CreateTagsCommand({ Resources: ['i-0123456789abcdef0'], Tags: [{ Key: 'a', Value: 'b' }] })));
    assert.is(unknown.name, 'InvalidInstanceID.NotFound');
  }),
);

Misc('should describe regions', () =>
  withEc2({}, async (_ep, ec2) => {
    const all = await ec2.send(new DescribeRegionsCommand({}));
    assert.ok((all.Regions?.length ?? 0) > 5);
    const one = await ec2.send(new DescribeRegionsCommand({ RegionNames: ['eu-west-1'] }));
    assert.equal(one.Regions, [{ RegionName: 'eu-west-1', Endpoint: 'ec2.eu-west-1.amazonaws.com', OptInStatus: 'opt-in-not-required' }]);
  }),
);

Misc('should answer an unknown action with InvalidAction and a missing one with MissingParameter', () =>
  withEc2({}, async (ep) => {
    const post = (body: string) =>
      fetch(`${ep.url}/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const unknown = await post('Action=LaunchRockets&Version=2016-11-15');
    assert.is(unknown.status, 400);
    const text = await unknown.text();
    assert.match(text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>InvalidAction<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/);
    const none = await post('Version=2016-11-15');
    assert.is(none.status, 400);
    assert.match(await none.text(), /<Code>MissingParameter<\/Code>/);
    const viaGet = await fetch(`${ep.url}/?Action=DescribeRegions&Version=2016-11-15`);
    assert.is(viaGet.status, 200);
    assert.match(await viaGet.text(), /<DescribeRegionsResponse xmlns="http:\/\/ec2\.amazonaws\.com\/doc\/2016-11-15\/"><requestId>/);
    assert.is(ep.counts.errors('LaunchRockets', 'InvalidAction'), 1);
  }),
);

Misc('should answer DryRun with DryRunOperation', () =>
  withEc2({}, async (ep, ec2) => {
    const error = await rejection(launch(ec2, { DryRun: true }));
    assert.is(error.name, 'DryRunOperation');
    assert.is(error.$metadata.httpStatusCode, 412);
    assert.is(ep.instances().length, 0);
  }),
);

Misc.run();
