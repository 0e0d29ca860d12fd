/** Which resources a group's --ignore-resources names. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ignoredBy } from '../runtime/bake/resource-filter.ts';

const Filter = suite('ignoredBy');

Filter('should match a type whatever its case and a title exactly', () => {
  const ignored = ignoredBy(['Exec[apt_update]']);
  assert.ok(ignored('Exec[apt_update]'));
  assert.ok(ignored('exec[apt_update]'));
  assert.not.ok(ignored('Exec[Apt_update]'));
  assert.not.ok(ignored('Exec[apt_update2]'));
  assert.not.ok(ignored('Package[apt_update]'));
});

Filter('should read * in a title as any text, and everything else literally', () => {
  const ignored = ignoredBy(['Notify[*]', 'File[/tmp/*.log]', 'Apt::Source[a+b]']);
  assert.ok(ignored('Notify[]'));
  assert.ok(ignored('Notify[hello [world]]'));
  assert.ok(ignored('File[/tmp/x/y.log]'));
  assert.not.ok(ignored('File[/tmp/xlog]'));
  assert.ok(ignored('Apt::Source[a+b]'));
  assert.not.ok(ignored('Apt::Source[aab]'));
  assert.not.ok(ignored('NotifyX[a]'));
});

Filter('should ignore nothing with no references', () => {
  assert.not.ok(ignoredBy([])('Notify[x]'));
});

Filter.run();
