import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCounts, runSuite, summarize, type PartResult } from './suite.ts';
import { tempDir } from './support/tmp.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));

const Counts = suite('readCounts');

Counts('should add up uvu totals and RSpec examples', () => {
  const output = [
    '  Total:     12', '  Passed:    10', '  Skipped:   1', '  Duration:  3.2s', '',
    '294 examples, 2 failures, 3 pending',
  ].join('\n');
  assert.equal(readCounts(output), { passed: 10 + 289, failed: 1 + 2, skipped: 1 + 3 });
});

Counts('should say null when a part printed no counts', () => {
  assert.is(readCounts('error TS2322: Type string is not assignable to type number.\n'), null);
});

const Summary = suite('summarize');

Summary('should count a failed part without test counts as one failure', () => {
  const results: PartResult[] = [
    { name: 'typecheck', state: 'failed', reason: 'exit 2', counts: null, ms: 1000 },
    { name: 'uvu', state: 'passed', reason: 'exit 0', counts: { passed: 5, failed: 0, skipped: 0 }, ms: 1000 },
  ];
  assert.is(summarize(results).at(-1), 'suite: 5 passed, 1 failed');
});

const Run = suite('runSuite');

Run('should run the module specs after a broken uvu test, and fail the run', async () => {
  const dir = tempDir('suite');
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(
    join(dir, 'broken.test.mjs'),
    "import { test } from 'uvu';\nimport * as assert from 'uvu/assert';\ntest('should hold', () => assert.is(1, 2));\ntest('should pass', () => {});\ntest.run();\n",
  );
  writeFileSync(join(dir, 'module_spec.rb'), "describe 'module' do\n  it('runs') { expect(1).to eq(1) }\nend\n");
  const announced: string[] = [];
  const { results, status } = await runSuite(
    [
      { name: 'uvu', command: process.execPath, args: [join(REPO, 'node_modules/uvu/bin.js'), '.', '\\.test\\.mjs$', '--no-color'] },
      { name: 'module', command: 'rspec', args: ['--no-color', 'module_spec.rb'] },
    ],
    { cwd: dir, env: process.env, echo: () => {}, announce: (part) => announced.push(part.name) },
  );
  assert.equal(announced, ['uvu', 'module']);
  assert.is(status, 1);
  assert.equal(results.map((result) => [result.name, result.state, result.counts]), [
    ['uvu', 'failed', { passed: 1, failed: 1, skipped: 0 }],
    ['module', 'passed', { passed: 1, failed: 0, skipped: 0 }],
  ]);
  assert.is(summarize(results).at(-1), 'suite: 2 passed, 1 failed');
});

Run('should name a part whose command is missing, and go on', async () => {
  const { results, status } = await runSuite(
    [
      { name: 'ghost', command: 'autoami-no-such-command', args: [] },
      { name: 'true', command: 'true', args: [] },
    ],
    { cwd: REPO, env: process.env, echo: () => {}, announce: () => {} },
  );
  assert.is(status, 1);
  assert.match(results[0]!.reason, /could not start autoami-no-such-command/);
  assert.is(results[1]!.state, 'passed');
});

Counts.run();
Summary.run();
Run.run();
