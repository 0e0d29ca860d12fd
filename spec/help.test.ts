import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { faces } from '../runtime/interface/faces.ts';
import { findMethod } from '../runtime/interface/methods.ts';
import { flagOf } from '../generator/model.ts';
import { puppetEnv, type PuppetEnv } from './support/puppet.ts';

const Help = suite<{ puppet: PuppetEnv }>('puppet help');

Help.before((context) => {
  context.puppet = puppetEnv();
});

const squash = (text: string) => text.replace(/\s+/g, ' ');

for (const face of faces) {
  Help(`should list every ${face.name} action with its summary`, async ({ puppet }) => {
    const result = await puppet.run(['help', face.name]);
    assert.is(result.status, 0, result.stderr);
    for (const action of face.actions) assert.match(result.stdout, new RegExp(`^\\s+${action.name}\\s+${action.summary.replace(/[()]/g, '\\$&')}$`, 'm'));
  });

  for (const action of face.actions) {
    Help(`should list every option of ${face.name} ${action.name} with its summary`, async ({ puppet }) => {
      const result = await puppet.run(['help', face.name, action.name]);
      assert.is(result.status, 0, result.stderr);
      const text = squash(result.stdout);
      for (const [name, field] of Object.entries(findMethod(action.method)!.params)) {
        if (action.positional.includes(name)) continue;
        // Puppet owns these flags (--noop); the action's description speaks of them instead.
        if (field.puppetSetting) {
          assert.ok(text.includes(`--${field.puppetSetting}`), `--${field.puppetSetting} not described`);
          continue;
        }
        assert.ok(text.includes(flagOf(name)), `${flagOf(name)} missing`);
        assert.ok(text.includes(squash(field.summary)), `summary of ${name} missing`);
      }
    });
  }
}

Help.run();
