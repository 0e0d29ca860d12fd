import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { amiName } from '../runtime/ami-name.ts';

const AmiName = suite('amiName');

AmiName('should name by group and UTC time without colons', () => {
  assert.is(amiName('web', Date.UTC(2026, 10, 24, 6, 1, 26, 455)), 'autoami-web-20261124T060126.455Z');
});

AmiName('should give two bakes finishing in the same second different names', () => {
  const second = Date.UTC(2026, 10, 24, 6, 1, 26);
  assert.is.not(amiName('web', second + 100), amiName('web', second + 900));
});

AmiName.run();
