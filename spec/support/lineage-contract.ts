/**
 * Image lineage in the store contract: promotion, the lineage list, deregistration and the
 * group's image. Registered onto the one contract suite in spec/store.test.ts.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Store } from '../../runtime/store/store.ts';
import { at, image, settings, using, type Backing } from './store-fixtures.ts';

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
