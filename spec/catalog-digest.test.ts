/** A compiled catalog reduced to what it says about the node: hash and resource-level difference. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalogHash, diffCatalogs, normaliseCatalog, CatalogShapeError, type CatalogIdentity } from '../runtime/puppet/catalog-digest.ts';
import { puppetEnv } from './support/puppet.ts';
import { tempDir } from './support/tmp.ts';

const KEY = Buffer.alloc(32, 7);
const identity = (certname: string, instanceId?: string): CatalogIdentity => ({ certname, instanceId, sensitiveKey: KEY });

/** A catalog as the real compiler writes it, for `certname`, from `manifest`. */
async function compile(certname: string, manifest: string): Promise<unknown> {
  const puppet = puppetEnv();
  const site = join(tempDir('site'), 'site.pp');
  writeFileSync(site, manifest);
  const result = await puppet.run(['catalog', 'find', certname, '--terminus', 'compiler', '--render-as', 'json', '--manifest', site]);
  assert.is(result.status, 0, result.stderr);
  return JSON.parse(result.stdout.slice(result.stdout.indexOf('{')));
}

const ROLE = `node default {
  notify { 'hello': message => 'role 1' }
  file { '/etc/app.conf': content => Sensitive('s3cret'), require => Notify['hello'] }
}`;

const Digest = suite('catalog digest');

Digest('should hash two real compiles of unchanged code alike, though their version and uuid differ', async () => {
  const [first, second] = [await compile('web-i-0aaa.autoami', ROLE), await compile('web-i-0aaa.autoami', ROLE)] as { catalog_uuid: string }[];
  assert.is.not(first!.catalog_uuid, second!.catalog_uuid);
  const id = identity('web-i-0aaa.autoami');
  assert.is(catalogHash(normaliseCatalog(first, id)), catalogHash(normaliseCatalog(second, id)));
  assert.match(catalogHash(normaliseCatalog(first, id)), /^sha256:[0-9a-f]{64}$/);
});

Digest('should keep a sensitive value only as a keyed hash, and still see it change', async () => {
  const id = identity('web-i-0aaa.autoami');
  const before = normaliseCatalog(await compile('web-i-0aaa.autoami', ROLE), id);
  const after = normaliseCatalog(await compile('web-i-0aaa.autoami', ROLE.replace('s3cret', 'n3w')), id);
  assert.not.match(JSON.stringify(before), 's3cret');
  assert.not.match(JSON.stringify(after), 'n3w');
  const content = before.resources.find((resource) => resource.ref === 'File[/etc/app.conf]')!.parameters.content as { sensitive: string };
  assert.match(content.sensitive, /^hmac-sha256:[0-9a-f]{64}$/);
  assert.equal(diffCatalogs(before, after), { added: [], removed: [], changed: [{ ref: 'File[/etc/app.conf]', parameters: ['content'] }], edgesChanged: false });
});

Digest('should name added, removed and changed resources and the parameters that changed', async () => {
  const id = identity('web-i-0aaa.autoami');
  const before = normaliseCatalog(await compile('web-i-0aaa.autoami', ROLE), id);
  const next = `node default {
  notify { 'hello': message => 'role 2', withpath => true }
  file { '/etc/app.conf': content => Sensitive('s3cret') }
  package { 'nginx': ensure => installed }
}`;
  const diff = diffCatalogs(before, normaliseCatalog(await compile('web-i-0aaa.autoami', next), id));
  assert.equal(diff.added, ['Package[nginx]']);
  assert.equal(diff.removed, []);
  assert.equal(diff.changed, [{ ref: 'File[/etc/app.conf]', parameters: ['require'] }, { ref: 'Notify[hello]', parameters: ['message', 'withpath'] }]);
  // Package[nginx] is contained in the node: a new edge as well.
  assert.is(diff.edgesChanged, true);
});

Digest("should read the certname and instance id as placeholders, so two bake instances' catalogs agree", () => {
  const catalog = (certname: string, instanceId: string) => ({
    name: certname, version: 1, resources: [
      { type: 'File', title: `/etc/${certname}.conf`, file: '/x.pp', line: 3, tags: ['a'], exported: false, parameters: { content: `id=${instanceId} host=${certname}`, mode: '0644' } },
    ], edges: [{ source: 'Class[main]', target: `File[/etc/${certname}.conf]` }],
  });
  const a = normaliseCatalog(catalog('web-i-0aaa.autoami', 'i-0aaa'), identity('web-i-0aaa.autoami', 'i-0aaa'));
  const b = normaliseCatalog(catalog('web-i-0bbb.autoami', 'i-0bbb'), identity('web-i-0bbb.autoami', 'i-0bbb'));
  assert.is(catalogHash(a), catalogHash(b));
  assert.equal(a.resources[0], { ref: 'File[/etc/{certname}.conf]', exported: false, parameters: { content: 'id={instance_id} host={certname}', mode: '0644' } });
  assert.equal(a.edges, ['Class[main] -> File[/etc/{certname}.conf]']);
});

Digest('should hash alike whatever order the resources, edges and keys came in, and see an edge change', () => {
  const one = { resources: [{ type: 'B', title: 'b', parameters: { y: 1, x: { q: 1, p: 2 } } }, { type: 'A', title: 'a' }], edges: [{ source: 'A[a]', target: 'B[b]' }] };
  const two = { resources: [{ type: 'A', title: 'a' }, { type: 'B', title: 'b', parameters: { x: { p: 2, q: 1 }, y: 1 } }], edges: [{ source: 'A[a]', target: 'B[b]' }] };
  const id = identity('n');
  assert.is(catalogHash(normaliseCatalog(one, id)), catalogHash(normaliseCatalog(two, id)));
  const reordered = { ...two, edges: [{ source: 'B[b]', target: 'A[a]' }] };
  assert.equal(diffCatalogs(normaliseCatalog(one, id), normaliseCatalog(reordered, id)), { added: [], removed: [], changed: [], edgesChanged: true });
});

Digest('should refuse what is not a catalog', () => {
  assert.throws(() => normaliseCatalog({ resources: 'none' }, identity('n')), (error: unknown) => error instanceof CatalogShapeError);
  assert.throws(() => normaliseCatalog({ resources: [{ type: 'File' }] }, identity('n')), (error: unknown) => error instanceof CatalogShapeError);
});

Digest.run();
