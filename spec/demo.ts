/**
 * `npm run demo`: the whole bake loop on one machine with Node only. The real sidecar
 * (`autoami serve`, embedded store) talks to the EC2 endpoint from spec/support; one group
 * is baked twice: the first agent run changes the node (a new AMI is promoted and published:
 * its SSM parameter and its launch template's default version move to it), the second finds
 * nothing to do (no AMI, nothing moves). The agent is the real `puppet apply` with the module's
 * report processor when `puppet` is installed, otherwise a report that processor recorded.
 */
import './support/aws-env.ts';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRow } from '../runtime/methods/bake-run.ts';
import { certnameFor } from '../runtime/bootstrap/script.ts';
import { systemClock } from '../runtime/clock.ts';
import type { HistoryRow } from '../runtime/methods/history.ts';
import { installedPuppetVersion, realPuppetAgent, recordedAgent, type DemoAgent } from './demo/agent.ts';
import { callFollowing } from './demo/follow.ts';
import { historyTable } from './demo/history-table.ts';
import { DEBIAN_12_IMAGE_ID, DEBIAN_12_IMAGE_NAME, startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { makeTemplate } from './support/publication-rig.ts';
import { session, type RawClient } from './support/rpc.ts';
import { spawnSidecar, type SidecarProcess } from './support/sidecar-process.ts';
import { writeConfig } from './support/sidecar.ts';

const GROUP = 'demo-web';
const PARAMETER = '/demo/web/ami';
const TEMPLATE = 'demo-web-fleet';
const REGION = 'us-east-1';
const DEADLINE_MS = 90_000;
const started = systemClock.now();
const seconds = () => ((systemClock.now() - started) / 1000).toFixed(1);
let ending = false;
// Once the demo is failing, an agent still finishing its run has nothing more to say.
const step = (text: string) => ending || console.log(`[${seconds().padStart(4)}s] ${text}`);

/** Everything the demo starts or makes, so all of it is undone however the demo ends. */
const made: { endpoint?: Ec2Endpoint; sidecar?: SidecarProcess; clients: RawClient[]; dirs: string[] } = { clients: [], dirs: [] };

async function call(client: RawClient, method: string, params: unknown = {}): Promise<any> {
  const reply = await client.call(method, params);
  if (reply.error) throw new Error(`${method} failed: ${reply.error.message}`);
  return reply.result;
}

/** One `puppet autoami run --wait` for the group, with the agent playing the instance's run. */
async function bake(round: number, follower: RawClient, control: RawClient, agent: DemoAgent): Promise<RunRow> {
  let agentRun: Promise<void> = Promise.resolve();
  let agentFailed!: (error: unknown) => void;
  const failure = new Promise<never>((_, reject) => (agentFailed = reject));
  // A failed agent ends the demo at once rather than at the bake's report timeout.
  const following = callFollowing(follower, 'bake.run', { groups: [GROUP], wait: true }, (progress) => {
    step(`bake ${round}: ${progress.line.replace(`${GROUP}: `, '')}`);
    if (progress.state !== 'awaiting_report') return;
    agentRun = (async () => {
      const rows = (await call(control, 'bake.list')) as { group: string; instance_id: string }[];
      const certname = certnameFor(GROUP, rows.find((row) => row.group === GROUP)!.instance_id);
      step(`bake ${round}: waiting for the report of ${certname}`);
      step(`bake ${round}: agent: ${await agent.run(certname, control)}`);
    })().catch(agentFailed);
  });
  const result = await Promise.race([following, failure]);
  await agentRun;
  return (result.bakes as RunRow[])[0]!;
}

/** Where the group's targets point now: its SSM parameter and its launch template's default version. */
function targets(endpoint: Ec2Endpoint, templateId: string): string {
  const parameter = endpoint.ssm.parameters(REGION).get(PARAMETER);
  const latest = parameter?.versions.at(-1);
  const template = endpoint.inRegion(REGION).launchTemplate(templateId)!;
  const version = template.versions[template.defaultVersion - 1]!;
  const ssm = latest ? `${latest.value} (version ${latest.version})` : 'not set';
  return `SSM ${PARAMETER} = ${ssm}; launch template ${TEMPLATE} default version ${template.defaultVersion} = ${version.data.imageId}`;
}

async function currentImage(control: RawClient): Promise<string> {
  return ((await call(control, 'group.list')) as { name: string; image: string }[]).find((group) => group.name === GROUP)!.image;
}

async function demo(): Promise<void> {
  const endpoint = (made.endpoint = await startEc2Endpoint({ bootMs: 300, imageMs: 1000, terminateMs: 100 }));
  // The launch template an operator's fleet starts from; the group publishes to it and to an SSM parameter.
  const templateId = await makeTemplate(endpoint, REGION, TEMPLATE, DEBIAN_12_IMAGE_ID);
  const { dir, file, socket } = writeConfig(undefined, {
    aws: { region: 'us-east-1', endpoint: endpoint.url },
    puppet: { classifier: 'none' },
    bake: { poll_interval: '50ms', report_timeout: '30s' },
  });
  made.dirs.push(dir);
  // The sidecar starts while Puppet is asked its version; its failure is reported when awaited.
  const sidecarStarting = spawnSidecar(file, socket).then((sidecar) => (made.sidecar = sidecar));
  sidecarStarting.catch(() => undefined);
  const puppetVersion = await installedPuppetVersion();
  const agent = puppetVersion ? realPuppetAgent(puppetVersion, file, dir) : recordedAgent();
  made.dirs.push(...agent.dirs);
  console.log(`AutoAMI demo — embedded store, EC2 endpoint at ${endpoint.url}, agent: ${agent.description}`);

  await sidecarStarting;
  const control = await session(socket);
  const follower = await session(socket);
  made.clients.push(control, follower);
  step(`sidecar \`autoami serve\` listening on ${socket} (embedded store in ${join(dir, 'state')})`);

  // The parameters `puppet autoami new_group` sends; user-data bootstrap needs no SSH.
  const keyfile = join(dir, 'deploy.pem');
  writeFileSync(keyfile, '-----BEGIN OPENSSH PRIVATE KEY-----\ndemo\n-----END OPENSSH PRIVATE KEY-----\n', { mode: 0o600 });
  const group = await call(control, 'group.create', {
    name: GROUP, image: DEBIAN_12_IMAGE_ID, type: 't3.micro', keyname: 'deploy', keyfile, login: 'admin',
    puppetserver: 'puppet.example.com', node_group: GROUP, enc_user: 'admin', enc_pass: 'secret', bootstrap: 'userdata',
    ssm_parameter: [PARAMETER], launch_template: [TEMPLATE],
  });
  step(`group ${GROUP} created from ${group.image} (${DEBIAN_12_IMAGE_NAME}), ${group.type}, bootstrap by ${group.bootstrap}`);
  step(`targets of channel latest: ${targets(endpoint, templateId)}`);

  const first = await bake(1, follower, control, agent);
  if (first.outcome !== 'baked') throw new Error(`bake 1 ended ${first.outcome}, expected baked: ${first.reason ?? ''}`);
  const baked = await currentImage(control);
  const parent = endpoint.image(first.image!)?.tags.get('autoami:parent-image');
  step(`bake 1: baked ${first.image} (parent ${parent}); ${GROUP} now on ${baked}; instance ${first.instance_id} ${endpoint.instance(first.instance_id!)?.state}`);
  step(`bake 1: published: ${targets(endpoint, templateId)}`);

  const second = await bake(2, follower, control, agent);
  if (second.outcome !== 'unchanged') throw new Error(`bake 2 ended ${second.outcome}, expected unchanged: ${second.reason ?? ''}`);
  step(`bake 2: unchanged: no new AMI; ${GROUP} stays on ${await currentImage(control)}; instance ${second.instance_id} ${endpoint.instance(second.instance_id!)?.state}`);
  step(`bake 2: nothing published: ${targets(endpoint, templateId)}`);

  const history = (await call(control, 'group.history', { name: GROUP })) as HistoryRow[];
  console.log(`\nhistory of ${GROUP} (newest first):\n${historyTable(history)}\n`);
}

let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  return (cleaning ??= (async () => {
    for (const client of made.clients) client.close();
    await made.sidecar?.stop();
    await made.endpoint?.stop();
    for (const dir of made.dirs) rmSync(dir, { recursive: true, force: true });
  })());
}

async function fail(message: string, code: number): Promise<never> {
  ending = true;
  console.error(`demo failed after ${seconds()}s: ${message}`);
  await cleanUp().catch(() => undefined);
  process.exit(code);
}

process.once('SIGINT', () => void fail('interrupted', 130));
process.once('SIGTERM', () => void fail('terminated', 143));
setTimeout(() => void fail(`not finished within ${DEADLINE_MS / 1000} s`, 1), DEADLINE_MS).unref();
try {
  await demo();
  await cleanUp();
  console.log(`demo finished in ${seconds()}s; cleaned up ${made.dirs.join(' and ')}`);
  process.exit(0);
} catch (error) {
  await fail((error as Error).message.split('\n')[0]!, 1);
}
