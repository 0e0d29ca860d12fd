/**
 * Issue 7, MySQL outage (scaled down from 60 s): the real `autoami serve` on a MariaDB of
 * its own that goes away in the middle of a run. Reports reach it through the real report
 * processor (`puppet apply --reports autoami`) while the store is gone; they must be
 * spooled, not lost, and once MySQL is back the same sidecar process must replay them and
 * finish every bake with the outcome its report calls for.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseConfig } from '../runtime/config.ts';
import { realSleep } from '../runtime/sleep.ts';
import { MysqlStore } from '../runtime/store/mysql-store.ts';
import type { Bake } from '../runtime/store/store.ts';
import { applyAs, inState, waitForBake } from './support/bake-harness.ts';
import { startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { seedGroup } from './support/group-params.ts';
import { startPrivateMariadb, type PrivateMariadb } from './support/mariadb-private.ts';
import { puppetEnv, type PuppetEnv } from './support/puppet.ts';
import { callOnce } from './support/rpc.ts';
import { spawnSidecar, type SidecarProcess } from './support/sidecar-process.ts';
import { writeConfig } from './support/sidecar.ts';
import { tempDir } from './support/tmp.ts';

/** How long MySQL stays down at the least: the 60 s, scaled down. */
const OUTAGE_MS = 8000;
/** MID's image stays pending until the test lets it through (clock.advance) while MySQL is down. */
const HELD_IMAGE_MS = 24 * 60 * 60_000;
/** Only bounds a hang: each of these steps takes seconds, unless two busy cores slow it down. */
const HANG_MS = 180_000;
/** Reported before the outage, so its image is pending while MySQL goes away. */
const MID = 'mid';
/** Reported during the outage: group → does its Puppet run change something? */
const DURING: Record<string, boolean> = { web: true, db: true, lb: false };

interface Context {
  mariadb: PrivateMariadb;
  db: DatabaseConfig;
  endpoint: Ec2Endpoint;
  sidecar: SidecarProcess;
  socket: string;
  spool: string;
  puppet: PuppetEnv;
  pid: number;
  bakes: Map<string, Bake>;
  /** certname → transaction_uuid of the report the processor spooled for it. */
  spooled: Map<string, string>;
}

const Outage = suite<Context>('MySQL outage during a run');

const call = callOnce;

async function withStore<T>(db: DatabaseConfig, body: (store: MysqlStore) => Promise<T>): Promise<T> {
  // A store of the test's own, open only while MySQL is up, so it cannot mask the sidecar's reconnect.
  const store = new MysqlStore(db);
  await store.open();
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

const spoolFiles = (spool: string): string[] => (existsSync(spool) ? readdirSync(spool).filter((name) => name.endsWith('.json')) : []);

/** A manifest that changes a file, or one that changes nothing. */
const manifest = (changed: boolean): string => (changed ? `file { '${join(tempDir(), 'motd')}': content => "baked\\n" }` : '');

Outage.before(async (context) => {
  context.mariadb = await startPrivateMariadb();
  context.db = await context.mariadb.createDatabase();
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], bootMs: 100, imageMs: 200, terminateMs: 50 });
  const { dir, file, socket } = writeConfig(context.db, {
    aws: { region: 'us-east-1', endpoint: context.endpoint.url },
    puppet: { classifier: 'none' },
    // A report timeout far beyond the outage: the bakes must wait it out, not time out.
    bake: { poll_interval: '100ms', lease: '3s', report_timeout: '10m' },
  });
  context.socket = socket;
  context.spool = join(dir, 'state', 'spool');
  context.sidecar = await spawnSidecar(file, socket);
  context.pid = context.sidecar.child.pid!;
  context.puppet = puppetEnv({ AUTOAMI_CONFIG: file });
  context.bakes = new Map();
  context.spooled = new Map();
});

Outage.after(async ({ sidecar, endpoint, mariadb }) => {
  await sidecar?.stop();
  await endpoint?.stop();
  await mariadb?.destroy();
});

Outage('should bring every bake to awaiting_report and one to image_pending before MySQL stops', async (context) => {
  const { socket, db, puppet } = context;
  const groups = [MID, ...Object.keys(DURING)];
  for (const name of groups) {
    const reply = await call(socket, 'group.create', seedGroup({ name, bootstrap: 'userdata' }));
    assert.ok(reply.result, JSON.stringify(reply.error));
  }
  const run = await call(socket, 'bake.run', { groups });
  assert.ok(run.result, JSON.stringify(run.error));
  await withStore(db, async (store) => {
    for (const row of run.result.bakes as { group: string; bake: string }[]) {
      context.bakes.set(row.group, await waitForBake(store, row.bake, inState('awaiting_report'), HANG_MS));
    }
    const mid = context.bakes.get(MID)!;
    // MID's image is held pending, so MID is still baking when MySQL goes away.
    context.endpoint.setTiming({ imageMs: HELD_IMAGE_MS });
    const applied = await applyAs(puppet, mid.certname!, manifest(true));
    assert.is(applied.status, 2, applied.stderr);
    context.bakes.set(MID, await waitForBake(store, mid.id, inState('image_pending'), HANG_MS));
    context.endpoint.setTiming({ imageMs: 200 });
  });
});

Outage('should keep answering and spool every report through the processor while MySQL is down', async (context) => {
  const { mariadb, endpoint, puppet, socket, spool, sidecar } = context;
  const stoppedAt = Date.now();
  await mariadb.stop();
  const midImage = context.bakes.get(MID)!.image_id!;
  assert.is(endpoint.image(midImage)?.state, 'pending', 'MID was still baking when MySQL went away');

  const status = await call(socket, 'status');
  assert.is(status.result?.store_ok, false, JSON.stringify(status));
  const groups = await call(socket, 'group.list');
  assert.is(groups.error?.code, -32020, `a store call while MySQL is down: ${JSON.stringify(groups)}`);

  // The agent runs of the three instances, side by side as they would end on the master.
  const runs = await Promise.all(
    Object.entries(DURING).map(async ([group, changed]) => {
      const applied = await applyAs(puppet, context.bakes.get(group)!.certname!, manifest(changed));
      return { group, changed, applied };
    }),
  );
  for (const { group, changed, applied } of runs) {
    assert.is(applied.status, changed ? 2 : 0, `${group}: the processor must not change how the run ends: ${applied.stderr}`);
    assert.match(applied.stderr, /spooled to/, `${group}: ${applied.stderr}`);
  }
  const files = spoolFiles(spool);
  assert.is(files.length, runs.length, `spool holds ${JSON.stringify(files)}`);
  for (const name of files) {
    const summary = JSON.parse(readFileSync(join(spool, name), 'utf8')) as { host: string; transaction_uuid: string };
    context.spooled.set(summary.host, summary.transaction_uuid);
  }

  // MID's image becomes available while MySQL is down, and the sidecar sees it there: it
  // must wait with the promotion until the store is back.
  const describes = endpoint.counts.ok('DescribeImages');
  endpoint.clock.advance(HELD_IMAGE_MS);
  assert.is(endpoint.image(midImage)?.state, 'available');
  const seenBy = Date.now() + HANG_MS;
  while (endpoint.counts.ok('DescribeImages') === describes) {
    assert.ok(Date.now() < seenBy, 'the sidecar stopped polling MID\'s image');
    await realSleep(50);
  }

  // Sit out the rest of the outage with replay attempts failing underneath.
  await realSleep(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));
  assert.is(sidecar.child.exitCode, null, `the sidecar died while MySQL was down:\n${sidecar.log()}`);
  assert.is(spoolFiles(spool).length, runs.length, 'no spooled report is dropped while the store is away');
  assert.not.ok(existsSync(join(spool, 'rejected')) && readdirSync(join(spool, 'rejected')).length > 0, 'no report set aside as unreadable');
});

Outage('should reconnect, replay the spool and finish every bake with its outcome once MySQL is back', async (context) => {
  const { mariadb, db, endpoint, socket, spool, sidecar, pid } = context;
  await mariadb.start();
  const done = await withStore(db, (store) =>
    Promise.all([...context.bakes.values()].map((bake) => waitForBake(store, bake.id, inState('done'), HANG_MS))),
  );
  const byGroup = new Map(done.map((bake) => [bake.group_name, bake]));
  const expected: Record<string, boolean> = { [MID]: true, ...DURING };
  await withStore(db, async (store) => {
    for (const [group, changed] of Object.entries(expected)) {
      const bake = byGroup.get(group)!;
      assert.is(bake.outcome, changed ? 'baked' : 'unchanged', `${group}: ${bake.reason}`);
      const current = (await store.getGroup(group))?.image;
      if (changed) {
        assert.ok(bake.image_id, `${group} made an image`);
        assert.is(current, bake.image_id, `${group} points at its new AMI`);
        assert.is(endpoint.image(bake.image_id!)?.state, 'available');
      } else {
        assert.is(current, 'ami-0abc1234', `${group} stays on its image`);
      }
    }
  });
  // Every spooled report was recorded, on the bake it belongs to.
  for (const [certname, uuid] of context.spooled) {
    const bake = done.find((each) => each.certname === certname);
    assert.is(bake?.report?.transaction_uuid, uuid, `report for ${certname}`);
  }
  assert.equal(spoolFiles(spool), [], 'the spool is empty');
  assert.not.ok(existsSync(join(spool, 'rejected')) && readdirSync(join(spool, 'rejected')).length > 0, 'nothing set aside');
  const live = endpoint.instances().filter((instance) => instance.state === 'running' || instance.state === 'pending');
  assert.equal(live.map((instance) => instance.instanceId), [], 'no instance left running');
  assert.is(sidecar.child.exitCode, null, sidecar.log());
  assert.is(sidecar.child.pid, pid, 'the same sidecar process throughout');
  const status = await call(socket, 'status');
  assert.is(status.result?.store_ok, true, JSON.stringify(status));
});

Outage.run();
