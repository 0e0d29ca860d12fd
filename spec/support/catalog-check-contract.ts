/**
 * The catalog check in the store contract: what it found on a bake, written only by the
 * lease holder in the state it checked in; the catalog hash of a group's image, which
 * follows promotion and rollback and is recorded only while the image is the one compiled
 * for; and the catalogs themselves, kept once each under their hash.
 * Registered onto the one contract suite in spec/store.test.ts.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../runtime/errors.ts';
import type { CatalogCheck, Store } from '../../runtime/store/store.ts';
import { rejects } from './rejects.ts';
import { FakeClock, at, catalogCheck, digest, image, leased, settings, using, type Backing } from './store-fixtures.ts';

// What a check finds when it cannot compile: nothing to compare, nothing timed.
const UNCHECKED: CatalogCheck = {
  state: 'unchecked', reason: "Error: Could not find class ::role::web for 'web-i-0abc.autoami' (file: site.pp, line: 3)", hash: null, reference: null,
  diff: null, compile_ms: null,
};

// A normalised catalog as runtime/puppet/catalog-digest.ts makes one, with what makes JSON
// and SQL text go wrong in its titles and parameters.
const CATALOG = {
  resources: [
    { ref: 'Class[Role::Web]', exported: false, parameters: {} },
    {
      ref: `File[/etc/it's "quoted" \\ 🔑]`, exported: false,
      parameters: { content: "line 1\nline 2\t'; DROP TABLE catalogs; --", mode: '0644', backup: false, replace: null, tags: ['a', 'ключ', 'e\u0301'] },
    },
    { ref: 'Package[nginx]', exported: true, parameters: { ensure: '1.24.0-1', install_options: [{ '--no-install-recommends': true }], size: 1.5e21 } },
    { ref: 'Exec[secret]', exported: false, parameters: { command: { sensitive: `hmac-sha256:${'0'.repeat(64)}` }, timeout: -0.25 } },
  ],
  edges: [['Class[Role::Web]', 'Package[nginx]'], ['Class[Role::Web]', `File[/etc/it's "quoted" \\ 🔑]`]],
  empty: { object: {}, list: [], text: '', nul: '\u0000 \u2028' },
};

export function catalogCheckContract(test: Test, fresh: () => Promise<Backing>): void {
  const withStore = async (body: (store: Store) => Promise<void>) => using((await fresh()).make(), body);

  test('should start a bake unchecked, record a check for the lease holder, replace it whole, and keep it', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0) + 11);
    const written = await using(backing.make(clock), async (store) => {
      await leased(store, 'b1');
      const before = (await store.getBake('b1'))!;
      assert.is(before.check, null);
      clock.time = at(5) + 22;
      const set = await store.setCheck('b1', 'm1', 'queued', catalogCheck());
      assert.equal(set, { ...before, check: catalogCheck(), updated_at: at(5) + 22 });
      assert.equal(await store.getBake('b1'), set);
      clock.time = at(9) + 33;
      const replaced = (await store.setCheck('b1', 'm1', 'queued', UNCHECKED))!;
      assert.equal([replaced.check, replaced.updated_at, replaced.state], [UNCHECKED, at(9) + 33, 'queued']);
      return replaced;
    });
    await using(backing.make(), async (store) => {
      assert.equal(await store.getBake('b1'), written);
      assert.equal(await store.listBakes(), [written]);
      // Moving on keeps what the check found: a finished bake still shows why it launched.
      const launching = await store.transition('b1', 'm1', 'queued', { state: 'launching' });
      assert.equal(launching?.check, UNCHECKED);
      assert.equal((await store.transition('b1', 'm1', 'launching', { state: 'done', outcome: 'unchanged' }))?.check, UNCHECKED);
    });
  });

  test('should record a check only for the lease holder of a bake still in the state it checked in, changing nothing otherwise', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      const before = await store.getBake('b1');
      assert.is(await store.setCheck('b1', 'm2', 'queued', catalogCheck()), undefined, 'not the lease holder');
      assert.is(await store.setCheck('b1', 'm1', 'launching', catalogCheck()), undefined, 'not in that state');
      assert.is(await store.setCheck('nope', 'm1', 'queued', catalogCheck()), undefined, 'no such bake');
      await store.releaseLease('b1', 'm1');
      assert.is(await store.setCheck('b1', 'm1', 'queued', catalogCheck()), undefined, 'lease released');
      assert.equal(await store.getBake('b1'), { ...before!, lease_owner: null, lease_expires: null });
      // Another sidecar that took the lease over checks again.
      assert.ok(await store.acquireLease('b1', 'm2', at(60), at(0)));
      assert.equal((await store.setCheck('b1', 'm2', 'queued', catalogCheck({ state: 'unchanged' })))?.check, catalogCheck({ state: 'unchanged' }));
      await rejects(store.setCheck('b1', 'm2', 'baking' as never, catalogCheck()), ValidationError);
    });
  });

  test('should refuse a check it cannot keep, naming the field and changing nothing', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      await store.setCheck('b1', 'm1', 'queued', catalogCheck());
      const before = await store.getBake('b1');
      const { compile_ms: _, ...untimed } = catalogCheck();
      for (const bad of [
        catalogCheck({ state: 'maybe' as never }),
        catalogCheck({ reason: null as never }),
        catalogCheck({ hash: 'sha256:ABC' }),
        catalogCheck({ reference: `md5:${'0'.repeat(32)}` }),
        catalogCheck({ compile_ms: 1.5 }),
        catalogCheck({ diff: { added: [], removed: [], changed: [{ ref: 'File[/x]' }], edgesChanged: false } as never }),
        catalogCheck({ diff: { added: [7], removed: [], changed: [], edgesChanged: false } as never }),
        catalogCheck({ diff: { added: [], removed: [], changed: [] } as never }),
        untimed,
        null,
        'changed',
      ]) {
        const error = await rejects(store.setCheck('b1', 'm1', 'queued', bad as never), ValidationError);
        assert.is(error.field, 'check', JSON.stringify(bad));
      }
      assert.equal(await store.getBake('b1'), before);
    });
  });

  test('should keep only the known fields of a check, and a copy of the caller\'s', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      const mine = { ...catalogCheck(), note: 'stray', diff: { added: ['File[/a]'], removed: [], changed: [{ ref: 'File[/b]', parameters: ['mode'], extra: 1 }], edgesChanged: false } };
      const set = await store.setCheck('b1', 'm1', 'queued', mine);
      mine.diff.added.push('File[/c]');
      mine.diff.changed[0]!.parameters.push('owner');
      const expected = catalogCheck({ diff: { added: ['File[/a]'], removed: [], changed: [{ ref: 'File[/b]', parameters: ['mode'] }], edgesChanged: false } });
      assert.equal(set?.check, expected);
      assert.equal((await store.getBake('b1'))?.check, expected);
    });
  });

  test('should give a new group no catalog hash, and record one only while its image is the one compiled for', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0));
    await using(backing.make(clock), async (store) => {
      const created = await store.createGroup(settings());
      assert.is(created.catalog_hash, null);
      clock.time = at(10) + 5;
      assert.is(await store.setCatalogHash('wordpress', 'ami-0abc1234', digest('a')), true);
      assert.equal(await store.getGroup('wordpress'), { ...created, catalog_hash: digest('a'), updated_at: at(10) + 5 });
      assert.is(await store.setCatalogHash('wordpress', 'ami-0abc1234', digest('a')), true, 'again, the same');
      // A promotion came first: the check compiled for an image the group is no longer on.
      await store.promote(image('ami-0new', 20, { catalog_hash: digest('c') }));
      const promoted = await store.getGroup('wordpress');
      assert.is(await store.setCatalogHash('wordpress', 'ami-0abc1234', digest('b')), false, 'image replaced');
      assert.is(await store.setCatalogHash('nope', 'ami-0abc1234', digest('b')), false, 'no such group');
      assert.equal(await store.getGroup('wordpress'), promoted);
      for (const bad of ['sha256:short', digest('G'), `sha1:${'a'.repeat(40)}`, 7]) {
        assert.is((await rejects(store.setCatalogHash('wordpress', 'ami-0new', bad as never), ValidationError)).field, 'catalog_hash', String(bad));
      }
      assert.equal(await store.getGroup('wordpress'), promoted);
      assert.is(await store.setCatalogHash('wordpress', 'ami-0new', null), true, 'null forgets it');
    });
    await using(backing.make(), async (store) => assert.is((await store.getGroup('wordpress'))?.catalog_hash, null));
  });

  test('should carry an image\'s catalog hash to its group on promotion, and keep it on the lineage row', async () => {
    const backing = await fresh();
    await using(backing.make(), async (store) => {
      await store.createGroup(settings());
      await store.promote(image('ami-1', 10, { catalog_hash: digest('1') }));
      assert.equal([(await store.getGroup('wordpress'))?.image, (await store.getGroup('wordpress'))?.catalog_hash], ['ami-1', digest('1')]);
      // An image baked without a check has no catalog: the group forgets the one before.
      await store.promote(image('ami-2', 20));
      assert.equal([(await store.getGroup('wordpress'))?.image, (await store.getGroup('wordpress'))?.catalog_hash], ['ami-2', null]);
      await store.promote(image('ami-3', 30, { catalog_hash: digest('3') }));
      await rejects(store.promote(image('ami-4', 40, { catalog_hash: 'sha256:nope' })), ValidationError);
    });
    await using(backing.make(), async (store) => {
      assert.equal([(await store.getGroup('wordpress'))?.image, (await store.getGroup('wordpress'))?.catalog_hash], ['ami-3', digest('3')]);
      assert.equal((await store.listImages('wordpress')).map((row) => [row.image_id, row.catalog_hash]), [['ami-3', digest('3')], ['ami-2', null], ['ami-1', digest('1')]]);
    });
  });

  test('should set a group\'s image with the catalog hash given, and with none when none is', async () => {
    const backing = await fresh();
    await using(backing.make(), async (store) => {
      await store.createGroup(settings());
      await store.promote(image('ami-2', 20, { catalog_hash: digest('2') }));
      // A rollback to an image whose catalog is known brings its catalog back with it.
      assert.is(await store.setGroupImage('wordpress', 'ami-1', digest('1')), true);
      assert.equal([(await store.getGroup('wordpress'))?.image, (await store.getGroup('wordpress'))?.catalog_hash], ['ami-1', digest('1')]);
      assert.is(await store.setGroupImage('wordpress', 'ami-0abc1234'), true);
      assert.equal([(await store.getGroup('wordpress'))?.image, (await store.getGroup('wordpress'))?.catalog_hash], ['ami-0abc1234', null]);
      assert.is(await store.setGroupImage('wordpress', 'ami-2', digest('2')), true);
      const before = await store.getGroup('wordpress');
      assert.is((await rejects(store.setGroupImage('wordpress', 'ami-1', 'sha256:x'), ValidationError)).field, 'catalog_hash');
      assert.equal(await store.getGroup('wordpress'), before);
      assert.is(await store.setGroupImage('nope', 'ami-1', digest('1')), false);
    });
    await using(backing.make(), async (store) => assert.equal((await store.getGroup('wordpress'))?.catalog_hash, digest('2')));
  });

  test('should keep a catalog exactly under its hash, once, for another store to read', async () => {
    const backing = await fresh();
    await using(backing.make(), async (store) => {
      assert.is(await store.getCatalog(digest('a')), undefined);
      assert.is(await store.putCatalog(digest('a'), CATALOG), undefined);
      assert.equal(await store.getCatalog(digest('a')), CATALOG);
      // Content-addressed: a second put under the hash leaves the first as it was.
      await store.putCatalog(digest('a'), { resources: [], edges: [] });
      await Promise.all([store.putCatalog(digest('b'), { resources: [] }), store.putCatalog(digest('b'), { resources: [] })]);
      assert.equal(await store.getCatalog(digest('a')), CATALOG);
    });
    await using(backing.make(), async (store) => {
      assert.equal(await store.getCatalog(digest('a')), CATALOG);
      assert.equal(await store.getCatalog(digest('b')), { resources: [] });
      assert.is(await store.getCatalog(digest('c')), undefined);
    });
  });

  test('should refuse a catalog hash that is not a sha256 digest, and a catalog that is not a JSON object, keeping nothing', async () => {
    const backing = await fresh();
    await using(backing.make(), async (store) => {
      for (const bad of ['', 'sha256:', digest('A'), `${digest('a')}0`, `sha256:${'a'.repeat(63)}`, `SHA256:${'a'.repeat(64)}`, ` ${digest('a')}`, `${digest('a')}\n`, "'; DROP TABLE catalogs; --", 7, null]) {
        assert.is((await rejects(store.putCatalog(bad as never, CATALOG), ValidationError)).field, 'hash', JSON.stringify(bad));
        assert.is((await rejects(store.getCatalog(bad as never), ValidationError)).field, 'hash', JSON.stringify(bad));
      }
      for (const bad of [['a list'], null, 'text', { n: Number.NaN }, { when: new Date(0) }, { gone: undefined }]) {
        assert.is((await rejects(store.putCatalog(digest('a'), bad as never), ValidationError)).field, 'catalog', String(bad));
      }
      assert.is(await store.getCatalog(digest('a')), undefined);
    });
    await using(backing.make(), async (store) => assert.is(await store.getCatalog(digest('a')), undefined));
  });

  test('should keep a copy of the caller\'s catalog', async () => {
    await withStore(async (store) => {
      const mine = { resources: [{ ref: 'File[/a]', parameters: { mode: '0644' } }] };
      await store.putCatalog(digest('a'), mine);
      mine.resources[0]!.parameters.mode = '0777';
      mine.resources.push({ ref: 'File[/b]', parameters: { mode: '0600' } });
      assert.equal(await store.getCatalog(digest('a')), { resources: [{ ref: 'File[/a]', parameters: { mode: '0644' } }] });
    });
  });
}
