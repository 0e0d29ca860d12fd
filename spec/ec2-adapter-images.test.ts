/** Ec2Adapter's images: creating, waiting for, listing and deregistering them. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Ec2Error, Ec2WaitTimeout } from '../runtime/errors.ts';
import { DEBIAN_12_IMAGE_ID } from './support/ec2-endpoint.ts';
import { imageSpec, rejection, running, within, withRig } from './support/ec2-rig.ts';

const images = suite('Ec2Adapter images');

images('should create an image, wait until available, and tag the image and its snapshot', () =>
  withRig({}, async (rig) => {
    const id = await running(rig);
    const imageId = await rig.ec2.createImage(imageSpec(id, 'autoami-web-20240501T120000Z'));
    const image = await rig.ec2.waitForImage(imageId, within());
    assert.is(image.state, 'available');
    assert.is(image.name, 'autoami-web-20240501T120000Z');
    assert.is(image.description, 'AutoAMI bake of autoami-web-20240501T120000Z');
    assert.equal(image.tags, { 'autoami:group': 'web', 'autoami:parent-image': DEBIAN_12_IMAGE_ID });
    assert.is(image.snapshotIds.length, 1);
    const snapshot = rig.ep.snapshots().find((s) => s.snapshotId === image.snapshotIds[0]);
    assert.is(snapshot?.tags.get('autoami:parent-image'), DEBIAN_12_IMAGE_ID);
    assert.is(rig.ep.image(imageId)?.noReboot, true);
    assert.is((await rig.ec2.findImageByName('autoami-web-20240501T120000Z'))?.id, imageId);
    assert.is(await rig.ec2.findImageByName('autoami-web-*'), undefined, 'names are not patterns');
  }),
);

images('should return the same image for a create retried with the same name', () =>
  withRig({}, async (rig) => {
    const id = await running(rig);
    const first = await rig.ec2.createImage(imageSpec(id, 'autoami-web-retried'));
    const second = await rig.ec2.createImage(imageSpec(id, 'autoami-web-retried'));
    assert.is(second, first);
    assert.is(rig.ep.images().filter((i) => i.name === 'autoami-web-retried').length, 1);
    assert.is(rig.ep.counts.errors('CreateImage', 'InvalidAMIName.Duplicate'), 1);
  }),
);

images('should reject a failed image with an Ec2Error naming the reason', () =>
  withRig({}, async (rig) => {
    rig.ep.faults.set('CreateImage', { failImages: 'always', imageFailure: { code: 'Client.VolumeLimitExceeded', message: 'Volume limit exceeded' } });
    const id = await running(rig);
    const imageId = await rig.ec2.createImage(imageSpec(id, 'autoami-web-doomed'));
    const error = await rejection(rig.ec2.waitForImage(imageId, within()));
    assert.instance(error, Ec2Error);
    assert.not.instance(error, Ec2WaitTimeout);
    assert.is((error as Ec2Error).awsCode, 'ImageFailed');
    assert.match(error.message, `image ${imageId} (autoami-web-doomed) failed: Client.VolumeLimitExceeded: Volume limit exceeded`);
  }),
);

images('should list every own image over several pages, without the public base image', () =>
  withRig({ endpoint: { imageMs: 20 }, adapter: { pageSize: 5 } }, async (rig) => {
    const id = await running(rig);
    const created: string[] = [];
    for (let n = 0; n < 7; n++) created.push(await rig.ec2.createImage({ ...imageSpec(id, `autoami-web-${n}`), tags: { 'autoami:group': n % 2 ? 'web' : 'db' } }));
    rig.ep.counts.reset();
    const all = await rig.ec2.listOwnImages();
    assert.equal(all.map((i) => i.id).sort(), [...created].sort());
    assert.ok(!all.some((i) => i.id === DEBIAN_12_IMAGE_ID));
    assert.is(rig.ep.counts.ok('DescribeImages'), 2, 'two pages of five');
    const web = await rig.ec2.listOwnImages({ 'autoami:group': 'web' });
    assert.equal(web.map((i) => i.name).sort(), ['autoami-web-1', 'autoami-web-3', 'autoami-web-5']);
  }),
);

images('should deregister an image and delete its snapshots', () =>
  withRig({}, async (rig) => {
    const id = await running(rig);
    const imageId = await rig.ec2.createImage(imageSpec(id, 'autoami-web-old'));
    const image = await rig.ec2.waitForImage(imageId, within());
    const result = await rig.ec2.deregisterImage(imageId);
    assert.equal(result, { imageId, snapshotIds: [...image.snapshotIds] });
    assert.is(rig.ep.image(imageId), undefined);
    assert.ok(!rig.ep.snapshots().some((s) => image.snapshotIds.includes(s.snapshotId)));
    const again = await rejection(rig.ec2.deregisterImage(imageId));
    assert.is(again.message, `image: ${imageId} does not exist in us-east-1 (InvalidAMIID.NotFound)`);
  }),
);

images.run();
