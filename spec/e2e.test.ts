/**
 * The whole loop on real parts: Debian's Puppet Server with the built module installed and
 * `reports = autoami`, the built sidecar on MariaDB, the EC2 endpoint, and real agents —
 * reached over a real sshd in ssh mode, started from their user data in userdata mode. Each
 * "instance" is this machine with private Puppet directories, so its disk outlives it the
 * way a baked AMI carries it to the next instance.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { stringify } from 'yaml';
import { DEBIAN_12_IMAGE_ID } from './support/ec2-endpoint.ts';
import { autosignSaid, bakeForged } from './support/e2e-forger.ts';
import { bake, currentImage, ENC_PASSWORD, face, groupImages, newGroup, POLICY_GROUP, skipped, startLoop, stopLoop, writeSite, type Context } from './support/e2e-loop.ts';
import { bootInstances, privateAgentArgs } from './support/instance-boot.ts';
import { bootstrapChallenges, reportProcessorProblems, secretLines, sidecarErrors } from './support/log-findings.ts';
import { spawnSidecar } from './support/sidecar-process.ts';
import { makeTemplate } from './support/publication-rig.ts';
import { tempDir } from './support/tmp.ts';

const E2e = suite<Context>('end to end');

const WEB_PARAMETER = '/e2e/web/ami';
const WEB_PROD_PARAMETER = '/e2e/web/prod/ami';

E2e.before(startLoop);

E2e.after(stopLoop);

/**
 * `copyTo`: a region the group's images are also delivered to, through the face's `--copy-to`; `more`: further new_group options;
 * `drift`: change the role's file before the second run, which puts it back.
 */
async function threeRuns(context: Context, group: string, bootstrap: 'ssh' | 'userdata', copyTo?: string, more: readonly string[] = [], drift = false): Promise<void> {
  await newGroup(context, group, bootstrap, [...(copyTo ? ['--copy-to', copyTo] : []), ...more]);
  const certname = (instanceId: string) => `${group}-${instanceId}.autoami`;

  // 1. A new role: the agent's run changes the disk, so it is baked.
  const first = await bake(context, group, 'baked');
  // The autosign command refuses these groups, so only the sidecar's CA API call can have signed it; cleaning then revokes it.
  const inventory = readFileSync(join(context.server.cadir, 'inventory.txt'), 'utf8');
  assert.match(inventory, `/CN=${certname(first.instanceId)}`, 'the CA issued the bake instance a certificate');
  assert.not.ok(existsSync(join(context.server.cadir, 'signed', `${certname(first.instanceId)}.pem`)), 'the finished bake cleaned its certificate');
  assert.is(readFileSync(join(context.disk, `${group}.conf`), 'utf8'), `${group} release 1\n`);
  assert.is(await currentImage(context, group), first.image);
  assert.is(context.endpoint.image(first.image!)?.tags.get('autoami:parent-image'), DEBIAN_12_IMAGE_ID);
  if (copyTo) await assertCopied(context, group, first.image!, copyTo);

  // 2. No code change. The catalog check compiles the role with the facts the first run
  // brought and finds the catalog recorded with the first AMI: nothing is launched. With
  // drift, --force launches anyway; the agent repairs the file, and its state from the first
  // run (carried on the disk, as an AMI carries it) makes that change corrective: still
  // nothing is baked.
  let second: { instanceId: string | null } = { instanceId: null };
  if (drift) {
    writeFileSync(join(context.disk, `${group}.conf`), 'drifted\n');
    second = await bake(context, group, 'unchanged', ['--force']);
    assert.is.not(second.instanceId, first.instanceId);
    assert.is(readFileSync(join(context.disk, `${group}.conf`), 'utf8'), `${group} release 1\n`);
  } else {
    await skipped(context, group);
  }
  assert.is.not(second.instanceId, first.instanceId);
  assert.is(groupImages(context, group).length, 1);
  assert.is(await currentImage(context, group), first.image);

  // 3. The manifest changes: a new AMI whose parent is the first.
  context.releases[group] = 2;
  writeSite(context);
  const third = await bake(context, group, 'baked');
  assert.is.not(third.image, first.image);
  assert.is(readFileSync(join(context.disk, `${group}.conf`), 'utf8'), `${group} release 2\n`);
  assert.is(context.endpoint.image(third.image!)?.tags.get('autoami:parent-image'), first.image);
  if (copyTo) await assertCopied(context, group, third.image!, copyTo);

  for (const { instanceId } of [first, second, third]) {
    if (instanceId) assert.is(context.endpoint.instance(instanceId)?.state, 'terminated', `${instanceId} was left running`);
  }

  const launched = /^Successfully launched instance at (\S+)$/m.exec(await face(context, ['node_aws', 'launch', group]));
  assert.ok(launched, 'node_aws launch said where');
  const newest = context.endpoint.instances().filter((instance) => instance.tags.get('autoami:group') === group).at(-1)!;
  assert.is(newest.imageId, third.image, 'node_aws launch starts from the newest AMI');

  const history = JSON.parse(await face(context, ['autoami', 'history', group, '--render-as', 'json'])) as {
    outcome: string; reason: string; image: string | null; parent: string; changed_resources: string[]; current: boolean; catalog: string | null;
  }[];
  assert.equal(history.map((row) => row.outcome), ['baked', 'unchanged', 'baked']);
  assert.match(history[1]!.reason, drift ? `every change repaired drift on the fresh instance (corrective, not intentional): File[${context.disk}/${group}.conf]` : 'catalog unchanged');
  assert.equal(history.map((row) => row.catalog), ['changed: ~File[' + context.disk + '/' + group + '.conf](content)', drift ? 'forced' : 'unchanged', 'unchecked']);
  assert.match(history[2]!.reason, /^\d+ resources changed: File\[/);
  assert.equal(history.map((row) => row.image), [third.image, null, first.image]);
  assert.equal(history.map((row) => row.parent), [first.image, first.image, DEBIAN_12_IMAGE_ID]);
  assert.ok(history[0]!.changed_resources.includes(`File[${context.disk}/${group}.conf]`), JSON.stringify(history[0]));
  assert.is(history[0]!.current, true);
}

/** The group's current image has its one copy in `region`, tagged like it, and `groups` names both. */
async function assertCopied(context: Context, group: string, image: string, region: string): Promise<void> {
  const bake = context.endpoint.image(image)?.tags.get('autoami:bake');
  const copies = context.endpoint.inRegion(region).images().filter((each) => each.tags.get('autoami:bake') === bake);
  assert.is(copies.length, 1, `${region} holds ${copies.length} copies of ${image}`);
  assert.is(copies[0]!.state, 'available');
  assert.is(copies[0]!.tags.get('autoami:group'), group);
  assert.ok(copies[0]!.deregistrationProtection.enabled, `the copy in ${region} is not protected`);
  const groups = JSON.parse(await face(context, ['autoami', 'groups', '--render-as', 'json'])) as { name: string; images: Record<string, string> }[];
  assert.equal(groups.find((each) => each.name === group)?.images, { 'us-east-1': image, [region]: copies[0]!.imageId });
}

function spooled(context: Context): string[] {
  const spool = join(context.stateDir, 'spool');
  return existsSync(spool) ? readdirSync(spool) : [];
}

// Both modes at once, as `puppet autoami run` bakes groups side by side: half the wall time.
E2e('should bake, skip and rebake one group over ssh and one from user data', async (context) => {
  const booter = bootInstances(context.endpoint, privateAgentArgs(tempDir('e2e-ud-agent')));
  await makeTemplate(context.endpoint, 'us-east-1', 'web-fleet', DEBIAN_12_IMAGE_ID);
  // Channel latest publishes with each bake; prod only when promoted (the next test). List options repeat as well as take commas.
  const publishing = ['--ssm-parameter', WEB_PARAMETER, '--ssm-parameter', `prod:${WEB_PROD_PARAMETER}`, '--launch-template', 'web-fleet'];
  try {
    await Promise.all([threeRuns(context, 'web', 'ssh', 'eu-west-1', publishing, true), threeRuns(context, 'db', 'userdata')]);
  } finally {
    await booter.stop();
    context.outputs.push(...booter.booted.map((boot) => boot.output));
  }
  // db's second run launched nothing: its catalog had not changed.
  assert.is(booter.booted.length, 2, `only the userdata group's two launched bakes boot from user data: ${JSON.stringify(booter.booted.map((each) => each.instanceId))}`);
  for (const boot of booter.booted) assert.is(boot.exitCode, 0, boot.output);
  assert.equal(spooled(context), [], 'every report went straight from Puppet Server to the sidecar');
  // The processor inside Puppet Server sent each group's latest agent facts, as the master cached them.
  const { host, port, user, password, name } = context.database;
  const conn = await createConnection({ host, port, user, password, database: name });
  const [rows] = await conn.query<RowDataPacket[]>('SELECT `group_name`, `certname`, `facts` FROM `group_facts` ORDER BY `group_name`').finally(() => conn.end());
  assert.equal(rows.map((row) => row.group_name), ['db', 'web']);
  for (const row of rows) {
    const facts = JSON.parse(row.facts) as Record<string, unknown>;
    assert.match(row.certname, new RegExp(`^${row.group_name}-i-[0-9a-f]+\\.autoami$`));
    assert.is(facts.clientcert, row.certname, 'the facts are not the bake instance agent\'s');
    assert.ok(typeof facts.os === 'object', 'no os fact');
    assert.equal(Object.keys(facts).filter((key) => key.startsWith('_')), [], 'the master\'s bookkeeping came along');
  }
});

E2e('should have published each bake of web to channel latest, and promote it to prod through the face', async (context) => {
  const image = await currentImage(context, 'web');
  const copy = context.endpoint.inRegion('eu-west-1').images().find((each) => each.tags.get('autoami:source-image') === image)!.imageId;
  assert.is(context.endpoint.ssm.value('us-east-1', WEB_PARAMETER), image, 'the home parameter is not on the newest image');
  assert.is(context.endpoint.ssm.value('eu-west-1', WEB_PARAMETER), copy, 'the copy region parameter is not on its copy');
  assert.is(context.endpoint.ssm.value('us-east-1', WEB_PROD_PARAMETER), undefined, 'a bake published to prod');
  const template = context.endpoint.launchTemplates().find((each) => each.name === 'web-fleet')!;
  // Two bakes made AMIs: two versions after the operator's own, the newest the default.
  assert.equal([template.versions.length, template.defaultVersion, template.versions.at(-1)!.data.imageId], [3, 3, image]);
  const said = await face(context, ['autoami', 'promote', 'web', '--channel', 'prod']);
  assert.match(said, new RegExp(`^Promoted ${image} to channel prod of web .*: published to 1 target`, 'm'));
  assert.is(context.endpoint.ssm.value('us-east-1', WEB_PROD_PARAMETER), image);
  assert.is(context.endpoint.ssm.value('eu-west-1', WEB_PROD_PARAMETER), copy);
  const history = JSON.parse(await face(context, ['autoami', 'history', 'web', '--render-as', 'json'])) as { event: string; channel: string; by: string; image: string }[];
  assert.equal([history[0]!.event, history[0]!.channel, history[0]!.by, history[0]!.image], ['promote', 'prod', userInfo().username, image]);
  const groups = JSON.parse(await face(context, ['autoami', 'groups', '--render-as', 'json'])) as { name: string; channels: Record<string, string> }[];
  assert.equal(groups.find((each) => each.name === 'web')?.channels, { latest: image, prod: image });
});

E2e('should promote an image a noop run on it finds converged, and refuse one whose role changes on every run', async (context) => {
  const group = 'ver';
  await newGroup(context, group, 'ssh', ['--verify']);
  const launchedFrom = (image: string) => context.endpoint.instances().filter((instance) => instance.imageId === image);

  // A converging role: the bake instance's run changes the file; the noop run on the image finds nothing to do.
  const first = await bake(context, group, 'baked');
  const [verifier, ...more] = launchedFrom(first.image!);
  assert.ok(verifier, 'no instance was launched from the new image to verify it');
  assert.equal(more, [], 'one verification instance per bake');
  assert.is(verifier.tags.get('autoami:bake'), context.endpoint.image(first.image!)?.tags.get('autoami:bake'));
  for (const id of [first.instanceId, verifier.instanceId]) assert.is(context.endpoint.instance(id)?.state, 'terminated', `${id} was left running`);
  assert.is(await currentImage(context, group), first.image);
  assert.match(readFileSync(context.sshScripts, 'utf8'), /^NOOP=--noop$/m, 'the verification script did not run the agent in noop');

  // The role gains a resource that changes on every run: it bakes, but the image it makes does not converge.
  context.everyRun.push(group);
  writeSite(context);
  const refused = await context.puppet.run(['autoami', 'run', '--groups', group, '--wait']);
  context.outputs.push(refused.stdout, refused.stderr);
  assert.is(refused.status, 1, `an unverified bake must fail the run:\n${refused.stdout}${refused.stderr}`);
  const pending = `Notify[${group} changes on every run]`;
  const line = new RegExp(`^${group}: done \\((i-[0-9a-f]+) unverified (ami-[0-9a-f]+)\\): 1 resources would still change on the new image \\(i-[0-9a-f]+\\): ${pending.replace(/[[\]]/g, '\\$&')}; the group stays on ${first.image}$`, 'm');
  const said = line.exec(refused.stdout);
  assert.ok(said, refused.stdout);
  const rejected = said[2]!;
  // EC2 drops a deregistered image from its answers (the endpoint at once).
  assert.is(context.endpoint.image(rejected), undefined, 'the unverified image was kept');
  assert.is(await currentImage(context, group), first.image, 'the group moved to an unverified image');
  for (const instance of launchedFrom(rejected)) assert.is(instance.state, 'terminated', `verification instance ${instance.instanceId} was left running`);
  assert.is(launchedFrom(rejected).length, 1);

  const history = JSON.parse(await face(context, ['autoami', 'history', group, '--render-as', 'json'])) as { outcome: string; verification: string | null; reason: string }[];
  assert.equal(history.map((row) => [row.outcome, row.verification]), [['unverified', `would change: ${pending}`], ['baked', 'verified']]);
  assert.match(history[1]!.reason, /; verified: a noop run on the new image \(i-[0-9a-f]+\) found nothing to change$/);
  const table = await face(context, ['autoami', 'history', group]);
  assert.match(table, /\bVERIFIED\b/);
  assert.ok(table.includes(`would change: ${pending}`), table);
});

E2e('should refuse CSRs forged from the certname on the CA API path, remove them, and sign the instance its own', async (context) => {
  const { certname } = await bakeForged(context, 'forged', 'ca');
  // The sidecar refused each forgery by name, never signing it, and removed it for the agent's own.
  const refused = context.sidecar.log().split('\n').filter((line) => line.includes('"certificate refused"') && line.includes(`"certname":"${certname}"`));
  assert.equal(refused.map((line) => JSON.parse(line).reason as string), [
    `the CSR for ${certname} carries no challengePassword; the CSR was removed, so the instance can ask again`,
    `the CSR for ${certname} carries a wrong challengePassword; the CSR was removed, so the instance can ask again`,
  ]);
  // The autosign command refuses this group outright: only the sidecar's CA API call can have signed the agent's CSR.
  assert.not.ok(autosignSaid(context).some((line) => line.includes(certname)));
});

E2e('should refuse CSRs forged from the certname on the policy autosign path, leave them unsigned, and sign the instance its own', async (context) => {
  // Policy-only, as `autosign => true, puppet_ca_signing => false` sets it up: the sidecar without the CA API.
  context.earlierSidecarLogs.push(context.sidecar.log());
  await context.sidecar.stop();
  const { hostcert, hostprivkey, localcacert, ...puppet } = context.config.puppet;
  writeFileSync(context.configFile, stringify({ ...context.config, puppet }), { mode: 0o640 });
  context.sidecar = await spawnSidecar(context.configFile, context.config.socket, 30_000, context.bin);
  const { certname, instanceId } = await bakeForged(context, POLICY_GROUP, 'policy');
  // Puppet Server asked the autosign command at each submission: it refused both forgeries by name and signed the agent's CSR.
  const said = autosignSaid(context).filter((line) => line.includes(certname));
  assert.equal(said.slice(0, 2), [
    `autoami autosign: not signing ${certname}: the CSR for ${certname} carries no challengePassword`,
    `autoami autosign: not signing ${certname}: the CSR for ${certname} carries a wrong challengePassword`,
  ]);
  assert.match(said[2] ?? '', new RegExp(`^autoami autosign: signing ${certname.replace(/\./g, '\\.')}: bake \\S+ on ${instanceId}$`));
  assert.is(said.length, 3, said.join('\n'));
});

E2e('should log no AutoAMI error or warning and no secret in Puppet Server and the sidecar logs', async (context) => {
  const logs: Record<string, string> = {
    puppetserver: context.server.log(),
    sidecar: [...context.earlierSidecarLogs, context.sidecar.log()].join('\n'),
    'autosign command': readFileSync(context.autosignLog, 'utf8'),
    'command output': context.outputs.join('\n'),
  };
  const lines = (found: string[]) => `\n${found.join('\n')}`;
  const processor = reportProcessorProblems(logs.puppetserver!);
  assert.equal(processor, [], `the report processor logged a problem:${lines(processor)}`);
  const sidecar = sidecarErrors(logs.sidecar!);
  assert.equal(sidecar, [], `the sidecar logged errors:${lines(sidecar)}`);
  // Each bake's one-time secret, from where alone it belongs: the user-data and what ssh was sent.
  const scripts = [...context.endpoint.instances().map((instance) => context.endpoint.userData(instance.instanceId) ?? ''), readFileSync(context.sshScripts, 'utf8')];
  const challenges = bootstrapChallenges(scripts);
  // Three ssh bakes and four from user data (db's second run launched nothing).
  assert.ok(challenges.length >= 7, `only ${challenges.length} challenges found`);
  const secrets = secretLines(logs, [ENC_PASSWORD, context.dbPassword, ...challenges]);
  assert.equal(secrets, [], `a secret reached a log:${lines(secrets)}`);
  // The store keeps hashes only.
  const { host, port, user, password, name } = context.database;
  const conn = await createConnection({ host, port, user, password, database: name });
  const [rows] = await conn.query<RowDataPacket[]>('SELECT * FROM `bakes`').finally(() => conn.end());
  const table = JSON.stringify(rows);
  assert.equal(challenges.filter((challenge) => table.includes(challenge)), [], 'the bakes table holds a challenge in clear');
  // The processor did run in this server: its log holds reports from the bake certnames.
  assert.ok(context.endpoint.images().some((image) => image.tags.has('autoami:group')), 'no bake was imaged, so the logs prove nothing');
});

E2e.run();
