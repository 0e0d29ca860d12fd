/** The EC2 endpoint on the real clock, and run on its own as a process. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CreateImageCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { startEc2Endpoint } from './support/ec2-endpoint.ts';
import { clientFor, CREDENTIALS, describeOne, launch } from './support/ec2-endpoint-client.ts';

/** `timeoutMs` only bounds a hang: on two busy cores a few real-time milliseconds can take seconds. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const Live = suite('ec2 endpoint in real time and standalone');

Live('should move instances and images on by itself on the real clock', async () => {
  const ep = await startEc2Endpoint({ bootMs: 30, imageMs: 30 });
  const ec2 = clientFor(ep);
  try {
    const [launched] = await launch(ec2);
    // RunInstances answers before any time has passed: the instance starts out pending.
    assert.is(launched?.State?.Name, 'pending');
    const id = launched!.InstanceId!;
    // Polls like the sidecar would; nothing here moves the clock.
    await eventually(async () => (await describeOne(ec2, id)).State?.Name === 'running');
    const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: id, Name: 'autoami-live-1' }));
    // Whether a poll still sees it pending depends on how busy the machine is; the order of
    // what the polls see does not: pending for a while, perhaps not at all, then available.
    const seen: string[] = [];
    const image = async () => (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId as string] }))).Images?.[0];
    await eventually(async () => (seen.push(String((await image())?.State)), seen.at(-1) === 'available'));
    assert.ok(seen.slice(0, -1).every((state) => state === 'pending'), seen.join(' '));
    assert.is(ep.clock.pending(), 0, 'no state change is left waiting');
  } finally {
    ec2.destroy();
    await ep.stop();
  }
});

Live('should run standalone, print its URL and stop on SIGTERM', async () => {
  const script = fileURLToPath(new URL('./support/ec2-endpoint.ts', import.meta.url));
  const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
  const child = spawn(process.execPath, [tsx, script, '--port', '0', '--image', 'ami-0abc1234', '--boot-ms', '10'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`endpoint exited early with ${code}`)));
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const ec2 = new EC2Client({ endpoint: url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
    const reply = await ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0abc1234'] }));
    ec2.destroy();
    assert.is(reply.Images?.[0]?.ImageId, 'ami-0abc1234');
  } finally {
    child.kill('SIGTERM');
  }
  assert.is(await exited, 0);
});

Live.run();
