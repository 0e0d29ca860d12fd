/**
 * Following a base image: resolving an SSM parameter and an AMI name pattern through the
 * real SDK clients against the EC2 and SSM stand-ins, and the option combinations a group
 * may not be given.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import './support/aws-env.ts';
import { checkBaseImageSettings, resolveBaseImage, type BaseImageSources } from '../runtime/bake/base-image.ts';
import { Ec2Adapter } from '../runtime/ec2/adapter.ts';
import { createEc2Client } from '../runtime/ec2/client.ts';
import { ValidationError } from '../runtime/errors.ts';
import { Metrics } from '../runtime/metrics.ts';
import { PublishRegions } from '../runtime/publish/source.ts';
import { BASE_IMAGE_OWNER } from './support/ec2/state.ts';
import { DEBIAN_12_IMAGE_ID, startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';

interface Context {
  ep: Ec2Endpoint;
  sources: BaseImageSources;
  close: () => Promise<void>;
}

const Base = suite<Context>('base images');

const DEBIAN_PARAMETER = '/aws/service/debian/release/12/latest/amd64';
const NOW = Date.now();
const DAY = 86_400_000;
const NEWER = 'ami-0deb1a12000000002';
const ARM = 'ami-0deb1a12000000003';
const IMPOSTOR = 'ami-0bad0000000000004';
const AMAZON = 'ami-0a1a2023000000005';

type Following = { base_image_from: string | null; base_image_filter: string | null; base_image_owner: string | null; region: string };
const following = (over: Partial<Following> = {}): Following => ({ base_image_from: null, base_image_filter: null, base_image_owner: null, region: 'us-east-1', ...over });

Base.before.each(async (context) => {
  const ep = await startEc2Endpoint({
    images: [
      { imageId: NEWER, name: 'debian-12-amd64-20240301-0900', createdAt: NOW + DAY },
      // Newer still, but another architecture and another account: neither pattern nor owner takes them.
      { imageId: ARM, name: 'debian-12-arm64-20240401-0900', createdAt: NOW + 2 * DAY },
      { imageId: IMPOSTOR, name: 'debian-12-amd64-20240501-0900', ownerId: '999999999999', createdAt: NOW + 3 * DAY },
      { imageId: AMAZON, name: 'al2023-ami-2023.4.20240401.1-kernel-6.1-x86_64', ownerId: '137112412989', ownerAlias: 'amazon', createdAt: NOW },
    ],
  });
  const aws = { region: 'us-east-1', endpoint: ep.url, endpoints: { ssm: ep.url, autoscaling: ep.url }, profile: undefined };
  const publish = new PublishRegions(aws, (ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const adapters = new Map<string, Ec2Adapter>();
  const ec2 = (region: string) => {
    let adapter = adapters.get(region);
    if (!adapter) adapters.set(region, (adapter = new Ec2Adapter({ client: createEc2Client(aws, region), region, endpoint: ep.url, metrics: Metrics.off() })));
    return adapter;
  };
  context.ep = ep;
  context.sources = { ssm: (region) => publish.ssm(region), ec2 };
  context.close = async () => {
    await publish.destroy();
    await ep.stop();
  };
});

Base.after.each(({ close }) => close());

Base('should resolve a group that follows nothing to nothing, asking AWS nothing', async ({ ep, sources }) => {
  assert.is(await resolveBaseImage(sources, following()), null);
  assert.is(ep.counts.total(), 0);
});

Base("should read AWS's public parameter in the group's region, and the image it names once the publisher moves it", async ({ ep, sources }) => {
  ep.ssm.publishPublic('us-east-1', DEBIAN_PARAMETER, DEBIAN_12_IMAGE_ID);
  const group = following({ base_image_from: DEBIAN_PARAMETER });
  assert.equal(await resolveBaseImage(sources, group), { state: 'resolved', image: DEBIAN_12_IMAGE_ID, source: DEBIAN_PARAMETER });
  ep.ssm.publishPublic('us-east-1', DEBIAN_PARAMETER, NEWER);
  assert.equal(await resolveBaseImage(sources, group), { state: 'resolved', image: NEWER, source: DEBIAN_PARAMETER });
  // Parameters are per region, as on AWS: eu-west-1 has none of that name.
  assert.equal(await resolveBaseImage(sources, { ...group, region: 'eu-west-1' }), {
    state: 'unresolved', source: DEBIAN_PARAMETER, reason: `there is no SSM parameter ${DEBIAN_PARAMETER} in eu-west-1`,
  });
});

Base('should not take a parameter that holds something other than an image id, quoting what it holds', async ({ ep, sources }) => {
  ep.ssm.publishPublic('us-east-1', '/aws/service/debian/release/12/latest/version', `12.5 ${'x'.repeat(100)}`);
  const resolved = await resolveBaseImage(sources, following({ base_image_from: '/aws/service/debian/release/12/latest/version' }));
  assert.is(resolved?.state, 'unresolved');
  assert.match(resolved?.state === 'unresolved' ? resolved.reason : '', /holds "12\.5 x{59}\.\.\.", not an image id$/);
});

Base('should take the newest available image of the owner whose name matches, by CreationDate', async ({ sources }) => {
  const debian = following({ base_image_filter: 'debian-12-amd64-*', base_image_owner: BASE_IMAGE_OWNER });
  assert.equal(await resolveBaseImage(sources, debian), { state: 'resolved', image: NEWER, source: `debian-12-amd64-* owned by ${BASE_IMAGE_OWNER}` });
  // ? stands for one character: the January image is the only one of that month.
  const january = await resolveBaseImage(sources, { ...debian, base_image_filter: 'debian-12-amd64-202401??-*' });
  assert.is(january?.state === 'resolved' && january.image, DEBIAN_12_IMAGE_ID);
  const amazon = await resolveBaseImage(sources, following({ base_image_filter: 'al2023-ami-2023.*-x86_64', base_image_owner: 'amazon' }));
  assert.is(amazon?.state === 'resolved' && amazon.image, AMAZON);
  assert.equal(await resolveBaseImage(sources, { ...debian, base_image_owner: 'self' }), {
    state: 'unresolved', source: 'debian-12-amd64-* owned by self', reason: 'no available image of self in us-east-1 has a name matching debian-12-amd64-*',
  });
});

Base('should say why, not fail, when EC2 refuses the lookup', async ({ ep, sources }) => {
  ep.faults.set('DescribeImages', { error: { code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', status: 403 } });
  const resolved = await resolveBaseImage(sources, following({ base_image_filter: 'debian-12-amd64-*', base_image_owner: BASE_IMAGE_OWNER }));
  assert.is(resolved?.state, 'unresolved');
  assert.match(resolved?.state === 'unresolved' ? resolved.reason : '', `debian-12-amd64-* owned by ${BASE_IMAGE_OWNER} could not be resolved in us-east-1: `);
  assert.match(resolved?.state === 'unresolved' ? resolved.reason : '', 'UnauthorizedOperation');
});

const Settings = suite('base image settings');

function refusal(settings: Following): ValidationError {
  try {
    checkBaseImageSettings(settings);
  } catch (error) {
    assert.instance(error, ValidationError);
    return error as ValidationError;
  }
  throw new Error(`${JSON.stringify(settings)} was taken`);
}

Settings('should take a parameter, AWS public ones too, or a pattern with its owner', () => {
  checkBaseImageSettings(following());
  checkBaseImageSettings(following({ base_image_from: DEBIAN_PARAMETER }));
  checkBaseImageSettings(following({ base_image_from: 'golden-base' }));
  checkBaseImageSettings(following({ base_image_filter: 'debian-12-amd64-*', base_image_owner: 'amazon' }));
});

Settings('should refuse each bad combination in one line naming the option and the value', () => {
  const both = refusal(following({ base_image_from: DEBIAN_PARAMETER, base_image_filter: 'debian-*', base_image_owner: 'amazon' }));
  assert.equal([both.field, both.message], ['base_image_filter', `base_image_filter: "debian-*" cannot be given with --base-image-from "${DEBIAN_PARAMETER}": a group follows one base image`]);
  const ownerless = refusal(following({ base_image_filter: 'debian-*' }));
  assert.equal([ownerless.field, ownerless.message.split('\n').length], ['base_image_filter', 1]);
  assert.match(ownerless.message, '"debian-*" needs --base-image-owner');
  const patternless = refusal(following({ base_image_owner: '136693071363' }));
  assert.equal([patternless.field, patternless.message], ['base_image_owner', 'base_image_owner: "136693071363" is given without --base-image-filter, the name pattern of that owner\'s images to follow']);
  assert.match(refusal(following({ base_image_from: 'aws/service/x' })).message, 'base_image_from: "aws/service/x" is not a name SSM accepts: a name with a hierarchy must begin with /');
  assert.match(refusal(following({ base_image_from: '/aws//service' })).message, 'a hierarchy level is empty');
});

Base.run();
Settings.run();
