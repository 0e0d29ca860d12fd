/**
 * Image lineage in the store contract: promotion, the lineage list, deregistration and the
 * group's image. Registered onto the one contract suite in spec/store.test.ts.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../runtime/errors.ts';
import type { Store } from '../../runtime/store/store.ts';
import { rejects } from './rejects.ts';
import { at, image, settings, using, type Backing } from './store-fixtures.ts';

const COPIES = { 'eu-west-1': 'ami-0eu', 'ap-southeast-2': 'ami-0ap' };

export function lineageContract(test: Test, fresh: () => Promise<Backing>): void {
  const withStore = async (body: (store: Store) => Promise<void>) => using((await fresh()).make(), body);

  test('should promote: point the group at the image and add lineage, harmlessly twice', async () => {
    await withStore(async (store) => {
      const group = await store.createGroup(settings());
      await store.promote(image('ami-0new', 10));
      await store.promote(image('ami-0new', 20, { name: 'retried' }));
      const after = await store.getGroup('wordpress');
      assert.equal([after?.image, after?.base_image], ['ami-0new', group.base_image]);
      assert.equal(await store.listImages('wordpress'), [image('ami-0new', 10)]);
    });
  });

  test('should list a group lineage newest first and keep it after the group is deleted', async () => {
    await withStore(async (store) => {
      await store.createGroup(settings());
      for (const [id, t] of [['ami-1', 0], ['ami-3', 20], ['ami-2', 10]] as const) await store.promote(image(id, t));
      await store.promote(image('ami-db', 30, { group_name: 'db' }));
      await store.deleteGroup('wordpress');
      assert.equal((await store.listImages('wordpress')).map((i) => i.image_id), ['ami-3', 'ami-2', 'ami-1']);
      assert.equal(await store.listImages('none'), []);
      assert.is(await store.getGroup('db'), undefined, 'promote never creates a group');
    });
  });

  test('should mark an image deregistered once, keeping the first time', async () => {
    await withStore(async (store) => {
      await store.promote(image('ami-1', 0));
      await store.markImageDeregistered('ami-1', at(86_400));
      await store.markImageDeregistered('ami-1', at(2 * 86_400));
      await store.markImageDeregistered('ami-none', at(2 * 86_400));
      assert.equal(await store.listImages('wordpress'), [image('ami-1', 0, { deregistered_at: at(86_400) })]);
    });
  });

  test('should promote again after a rollback: one lineage row, as first written, and the group on the image again', async () => {
    const backing = await fresh();
    await using(backing.make(), async (store) => {
      await store.createGroup(settings());
      await store.promote(image('ami-0new', 10, { copies: COPIES }));
      await store.setRetentionNote('ami-0new', 'launched by asg-web');
      assert.ok(await store.setGroupImage('wordpress', 'ami-0abc1234'));
      // A resumed bake promotes again, perhaps with what it knows now: the first row stands.
      await store.promote(image('ami-0new', 20, { name: 'retried', copies: { 'eu-west-1': 'ami-0other' }, bake_id: 'b2' }));
      assert.is((await store.getGroup('wordpress'))?.image, 'ami-0new');
    });
    await using(backing.make(), async (store) => {
      assert.equal(await store.listImages('wordpress'), [image('ami-0new', 10, { copies: COPIES, retention_note: 'launched by asg-web' })]);
      assert.is((await store.getGroup('wordpress'))?.image, 'ami-0new');
    });
  });

  test('should keep an image\'s copies and retention note, and set, replace and clear the note', async () => {
    const backing = await fresh();
    const first = image('ami-1', 0, { copies: COPIES, retention_note: 'kept: launch template lt-0abc' });
    await using(backing.make(), async (store) => {
      await store.promote(first);
      await store.promote(image('ami-2', 10));
      assert.equal(await store.listImages('wordpress'), [image('ami-2', 10), first]);
      await store.setRetentionNote('ami-2', "kept: 'asg-web' still launches it");
      await store.setRetentionNote('ami-1', null);
      await store.setRetentionNote('ami-none', 'nothing to note');
    });
    await using(backing.make(), async (store) => {
      assert.equal(await store.listImages('wordpress'), [
        image('ami-2', 10, { retention_note: "kept: 'asg-web' still launches it" }),
        image('ami-1', 0, { copies: COPIES }),
      ]);
      await store.setRetentionNote('ami-2', 'kept: 2 instances');
      assert.is((await store.listImages('wordpress'))[0]?.retention_note, 'kept: 2 instances');
      await rejects(store.setRetentionNote('ami-2', 42 as never), ValidationError);
      assert.is((await store.listImages('wordpress'))[0]?.retention_note, 'kept: 2 instances');
    });
  });

  test('should refuse copies that are not a map of region to image id, promoting nothing', async () => {
    await withStore(async (store) => {
      const group = await store.createGroup(settings());
      for (const copies of [{ 'eu-west-1': null }, { 'eu-west-1': 7 }, { 'west europe': 'ami-0eu' }, ['ami-0eu'], null]) {
        const error = await rejects(store.promote(image('ami-0bad', 10, { copies: copies as never })), ValidationError);
        assert.is(error.field, 'copies', JSON.stringify(copies));
      }
      assert.equal([await store.getGroup('wordpress'), await store.listImages('wordpress')], [group, []]);
    });
  });

  test('should set a group image, and answer false for an unknown group', async () => {
    await withStore(async (store) => {
      await store.createGroup(settings());
      assert.is(await store.setGroupImage('wordpress', 'ami-0back'), true);
      assert.is(await store.setGroupImage('wordpress', 'ami-0back'), true);
      const group = await store.getGroup('wordpress');
      assert.equal([group?.image, group?.base_image], ['ami-0back', 'ami-0abc1234']);
      assert.is(await store.setGroupImage('nope', 'ami-0back'), false);
      assert.is(await store.getGroup('nope'), undefined);
    });
  });
}
