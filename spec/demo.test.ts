/**
 * `npm run demo` as a user runs it: a child process, twice in a row, then once more with
 * `puppet` hidden from PATH. The runs get a TMPDIR of their own, so "cleans up after itself"
 * means nothing of a run is left in it afterwards.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installedPuppetVersion } from './demo/agent.ts';
import { tempDir } from './support/tmp.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
/** Only bounds a hang: a demo run takes seconds, a real `puppet apply` included, unless two busy cores slow it down. */
const DEMO_TIMEOUT_MS = 300_000;

interface DemoRun {
  status: number | null;
  output: string;
}

function runDemo(env: Record<string, string | undefined>): Promise<DemoRun> {
  // How package.json's "demo" script runs it.
  const child = spawn(process.execPath, ['--import', 'tsx', 'spec/demo.ts'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), DEMO_TIMEOUT_MS);
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    }),
  );
}

/** The story in order: a baked AMI, then "unchanged", then the history with both bakes. */
function assertTold({ status, output }: DemoRun, agent: RegExp): void {
  assert.is(status, 0, output);
  assert.match(output, agent, 'the banner names the agent');
  const baked = output.search(/bake 1: baked ami-[0-9a-f]+ \(parent ami-/);
  const unchanged = output.search(/bake 2: unchanged: no new AMI/);
  const history = output.indexOf('history of demo-web');
  assert.ok(baked !== -1 && baked < unchanged && unchanged < history, output);
  // The targets move with the baked image and stay put when nothing was baked.
  assert.match(output, /targets of channel latest: SSM \/demo\/web\/ami = not set; launch template demo-web-fleet default version 1 = ami-0deb1a12000000001/);
  const image = /bake 1: baked (ami-[0-9a-f]+)/.exec(output)![1]!;
  const moved = `SSM /demo/web/ami = ${image} (version 1); launch template demo-web-fleet default version 2 = ${image}`;
  assert.ok(output.includes(`bake 1: published: ${moved}`), output);
  assert.ok(output.includes(`bake 2: nothing published: ${moved}`), output);
  const table = output.slice(history);
  assert.match(table, /\n\s+\S+\s+unchanged\s+-\s+ami-[0-9a-f]+/);
  assert.match(table, /\n\s+\S+\s+baked\s+ami-[0-9a-f]+ \(current\)\s+ami-0deb1a12000000001\s+\d+\s+1: File\[demo motd\]/);
  assert.match(output, /demo finished in [\d.]+s; cleaned up \//);
}

// One for every run: tsx keeps its compile cache in TMPDIR/tsx-<uid>, which is tsx's, not
// the demo's, and sharing it spares each run a cold compile.
const tmp = tempDir('demo');

function assertCleanedUp(output: string): void {
  const removed = /cleaned up (.*)$/m.exec(output)![1]!.split(' and ');
  for (const dir of removed) assert.not.ok(existsSync(dir), `${dir} is gone`);
  assert.equal(readdirSync(tmp).filter((name) => !name.startsWith('tsx-')), [], 'nothing else is left in its TMPDIR');
}

const Demo = suite('npm run demo');

Demo('should bake an AMI, then say unchanged, then show the history, and do it again on a second run', async () => {
  const agent = (await installedPuppetVersion()) ? /agent: real puppet \d/ : /agent: recorded report/;
  for (let round = 0; round < 2; round++) {
    const run = await runDemo({ ...process.env, TMPDIR: tmp });
    assertTold(run, agent);
    assertCleanedUp(run.output);
  }
});

Demo('should replay the recorded report when puppet is not on PATH', async () => {
  // A PATH holding node and nothing else: no puppet to find.
  const bin = tempDir('bin');
  symlinkSync(process.execPath, join(bin, 'node'));
  const run = await runDemo({ ...process.env, PATH: bin, TMPDIR: tmp });
  assertTold(run, /agent: recorded report/);
  assert.match(run.output, /recorded report submitted: changed, 1 resource\(s\) changed \(File\[demo motd\]\) → recorded/);
  assertCleanedUp(run.output);
});

Demo.run();
