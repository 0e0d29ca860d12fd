/**
 * Publications in the store contract: started once per id, their targets' progress written
 * only while under way, finished once, and listed newest first. Registered onto the one
 * contract suite in spec/store.test.ts.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../runtime/errors.ts';
import type { NewPublication, PublicationProgress, Store, TargetProgress } from '../../runtime/store/store.ts';
import { rejects } from './rejects.ts';
import { FakeClock, at, using, type Backing } from './store-fixtures.ts';

export const publication = (id: string, over: Partial<NewPublication> = {}): NewPublication => ({
  id, group_name: 'wordpress', channel: 'latest', image_id: 'ami-0home', images: { 'us-east-1': 'ami-0home', 'eu-west-1': 'ami-0copy' },
  trigger: 'bake', requested_by: null, ...over,
});

const target = (over: Partial<TargetProgress>): TargetProgress => ({
  step: 'pending', version: null, replaced: null, refresh_id: null, since: null, detail: null, ...over,
});

// Keys as long and odd as SSM allows: a 1011-character name, slashes and dots.
const LONG_SSM = `ssm:eu-west-1:/${'a.b-c_d/'.repeat(125)}xyz`;
const STARTED: PublicationProgress = {
  'ssm:us-east-1:/autoami/wordpress/latest': target({ step: 'confirming', version: 7 }),
  [LONG_SSM]: target({ step: 'writing' }),
  'launch-template:us-east-1:lt-0123456789abcdef0': target({ step: 'pending' }),
};
const FURTHER: PublicationProgress = {
  'ssm:us-east-1:/autoami/wordpress/latest': target({ step: 'done', version: 7 }),
  'launch-template:us-east-1:lt-0123456789abcdef0': target({ step: 'done', version: 12, replaced: 11 }),
  'instance-refresh:us-east-1:asg wordpress@web': target({ step: 'following', refresh_id: 'f3a1-22', since: at(30) + 1, detail: 'InProgress' }),
};

export function publicationContract(test: Test, fresh: () => Promise<Backing>): void {
  const withStore = async (body: (store: Store) => Promise<void>) => using((await fresh()).make(), body);

  test('should start a publication under way with no progress, stamped with its clock, and keep it', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0) + 11);
    const started = await using(backing.make(clock), (store) => store.startPublication(publication('b1')));
    const expected = { ...publication('b1'), progress: {}, outcome: null, reason: null, created_at: at(0) + 11, updated_at: at(0) + 11, finished_at: null };
    assert.equal(started, expected);
    await using(backing.make(), async (store) => {
      assert.equal(await store.getPublication('b1'), expected);
      assert.is(await store.getPublication('b2'), undefined);
    });
  });

  test('should give back the stored publication, unchanged, when one with its id is started again', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0));
    const first = await using(backing.make(clock), async (store) => {
      const started = await store.startPublication(publication('b1'));
      assert.ok(await store.setPublicationProgress('b1', STARTED));
      return { ...started, progress: STARTED };
    });
    clock.time = at(60);
    await using(backing.make(clock), async (store) => {
      const again = await store.startPublication(publication('b1', { channel: 'prod', image_id: 'ami-0other', trigger: 'promote', requested_by: 'ops' }));
      assert.equal(again, first);
      assert.equal(await store.listPublications('wordpress'), [first]);
    });
  });

  test('should record progress while under way, replacing it whole and moving updated_at', async () => {
    const clock = new FakeClock(at(0));
    await using((await fresh()).make(clock), async (store) => {
      const started = await store.startPublication(publication('b1'));
      clock.time = at(5) + 22;
      assert.is(await store.setPublicationProgress('b1', STARTED), true);
      assert.equal(await store.getPublication('b1'), { ...started, progress: STARTED, updated_at: at(5) + 22 });
      clock.time = at(9) + 33;
      assert.is(await store.setPublicationProgress('b1', FURTHER), true);
      assert.equal(await store.getPublication('b1'), { ...started, progress: FURTHER, updated_at: at(9) + 33 });
      assert.is(await store.setPublicationProgress('nope', FURTHER), false);
      assert.is(await store.getPublication('nope'), undefined, 'progress never creates a publication');
    });
  });

  test('should finish a publication once, and write nothing to it after', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0));
    const finished = await using(backing.make(clock), async (store) => {
      const started = await store.startPublication(publication('b1'));
      await store.setPublicationProgress('b1', FURTHER);
      clock.time = at(40) + 505;
      assert.is(await store.finishPublication('b1', 'published_with_errors', 'instance refresh asg-1: Cancelled'), true);
      const done = await store.getPublication('b1');
      assert.equal(done, {
        ...started, progress: FURTHER, outcome: 'published_with_errors', reason: 'instance refresh asg-1: Cancelled', updated_at: at(40) + 505,
        finished_at: at(40) + 505,
      });
      clock.time = at(50);
      assert.is(await store.finishPublication('b1', 'published', null), false);
      assert.is(await store.setPublicationProgress('b1', STARTED), false);
      assert.is(await store.finishPublication('nope', 'published', null), false);
      assert.equal(await store.getPublication('b1'), done);
      return done;
    });
    await using(backing.make(), async (store) => {
      assert.equal(await store.getPublication('b1'), finished);
      assert.is(await store.finishPublication('b1', 'published', null), false, 'still finished for another store');
      assert.equal(await store.startPublication(publication('b1')), finished, 'a resumed bake finds it finished');
    });
  });

  test('should list a group\'s publications of every channel newest first, the id breaking ties', async () => {
    const clock = new FakeClock(at(0));
    await using((await fresh()).make(clock), async (store) => {
      for (const [id, seconds, channel] of [['p-b', 10, 'latest'], ['p-a', 10, 'prod'], ['p-c', 20, 'staging'], ['p-old', 0, 'prod']] as const) {
        clock.time = at(seconds);
        await store.startPublication(publication(id, { channel }));
      }
      await store.startPublication(publication('other', { group_name: 'db' }));
      await store.finishPublication('p-c', 'published', null);
      const listed = await store.listPublications('wordpress');
      assert.equal(listed.map((p) => [p.id, p.channel]), [['p-c', 'staging'], ['p-b', 'latest'], ['p-a', 'prod'], ['p-old', 'prod']]);
      assert.equal(listed[0], await store.getPublication('p-c'));
      assert.equal((await store.listPublications('db')).map((p) => p.id), ['other']);
      assert.equal(await store.listPublications('none'), []);
    });
  });

  test('should refuse a trigger, images, progress or outcome it cannot keep, naming the field and changing nothing', async () => {
    await withStore(async (store) => {
      for (const [field, over] of [
        ['trigger', { trigger: 'cron' }], ['images', { images: { 'not a region': 'ami-1' } }], ['images', { images: { 'us-east-1': 7 } }],
        ['requested_by', { requested_by: 7 }], ['channel', { channel: null }],
      ] as const) {
        const error = await rejects(store.startPublication(publication('bad', over as never)), ValidationError);
        assert.is(error.field, field, JSON.stringify(over));
      }
      assert.is(await store.getPublication('bad'), undefined);
      await store.startPublication(publication('b1'));
      await store.setPublicationProgress('b1', STARTED);
      const before = await store.getPublication('b1');
      for (const bad of [
        { 'ssm:us-east-1:/x': target({ step: 'flying' as never }) },
        { 'ssm:us-east-1:/x': { step: 'done' } },
        { 'ssm:us-east-1:/x': target({ version: '7' as never }) },
        { 'ssm:us-east-1:/x': target({ since: -1 }) },
        { 'sqs:us-east-1:/x': target({}) },
        { 'ssm:nowhere:/x': target({}) },
        { 'ssm:us-east-1:': target({}) },
        [target({})],
        null,
      ]) {
        const error = await rejects(store.setPublicationProgress('b1', bad as never), ValidationError);
        assert.is(error.field, 'progress', JSON.stringify(bad));
      }
      for (const [field, outcome, reason] of [['outcome', 'failed', null], ['outcome', null, null], ['reason', 'published', 7]] as const) {
        const error = await rejects(store.finishPublication('b1', outcome as never, reason as never), ValidationError);
        assert.is(error.field, field, `${outcome} ${reason}`);
      }
      assert.equal(await store.getPublication('b1'), before);
    });
  });

  test('should store only the known fields of a publication and its progress, and copies of the caller\'s objects', async () => {
    await withStore(async (store) => {
      const images: Record<string, string> = { 'us-east-1': 'ami-0home' };
      const input = { ...publication('b1', { images }), note: 'stray' };
      const started = await store.startPublication(input);
      images['us-east-1'] = 'ami-0changed';
      assert.equal(started.images, { 'us-east-1': 'ami-0home' });
      assert.not.ok('note' in started);
      const mine = { 'ssm:us-east-1:/x': { ...target({ step: 'writing' }), colour: 'blue' } } as Record<string, TargetProgress>;
      await store.setPublicationProgress('b1', mine);
      mine['ssm:us-east-1:/x'] = target({ step: 'done' });
      const stored = await store.getPublication('b1');
      assert.equal([stored?.images, stored?.progress], [{ 'us-east-1': 'ami-0home' }, { 'ssm:us-east-1:/x': target({ step: 'writing' }) }]);
      assert.not.ok('note' in (stored ?? {}));
    });
  });
}
