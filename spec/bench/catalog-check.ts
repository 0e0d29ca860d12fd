/**
 * launches_per_run_20_groups_3_changed, catalog_check_ms_p50: 20 groups whose roles Debian's
 * Puppet Server compiles through its catalog API (v4), with the master's certificate.
 *   round 1 = every group has facts from an earlier bake and no recorded catalog: each checks,
 *             launches, and its agent changes nothing, which records the checked catalog.
 *   round 2 = 3 roles changed in site.pp: the run launches those 3 and ends the other 17
 *             `catalog unchanged` without launching.
 *   catalog_check_ms_p50 = the median of round 2's 20 compiles as the sidecar timed them
 *             (reading the certificate, TLS, the request, the compile, the reply); its goal
 *             is Puppet Server's own mean time on that route (its status API) + 50 ms.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { Bake } from '../../runtime/store/store.ts';
import { reportFor } from '../support/bake-harness.ts';
import { SERVER_CERTNAME, startPuppetServer, type PuppetServer } from '../support/puppetserver.ts';
import { defineGroups, runBakes, startBakeRig, warmUp } from './bake-rig.ts';
import { median, percentile, round } from './stats.ts';
import type { BenchResult } from './table.ts';

const GROUPS = Array.from({ length: 20 }, (_, index) => `role${String(index + 1).padStart(2, '0')}`);
const CHANGED = ['role03', 'role11', 'role17'];
const CATALOG_RULE = `{ match-request: { path: "/puppet/v4/catalog", type: path, method: post }, allow: [ "${SERVER_CERTNAME}" ], sort-order: 400, name: "autoami catalog check" }`;
/** The compile's own work on top of Puppet Server's: what the goal allows. */
const CHECK_ALLOWANCE_MS = 50;

/** Each role a handful of resources whose content carries its release. */
function site(releases: ReadonlyMap<string, number>): string {
  const roles = [...releases].map(([role, release]) => `    '${role}' => ${release},`).join('\n');
  return [
    'node default {',
    "  $role = $trusted['extensions']['pp_role']",
    `  $release = {\n${roles}\n  }[$role]`,
    '  file { "/etc/${role}.conf": content => "${role} release ${release} on ${facts[\'os\'][\'family\']}\\n", mode => \'0644\' }',
    "  package { ['nginx', 'curl', 'jq']: ensure => installed }",
    "  service { 'nginx': ensure => running, enable => true, subscribe => File[\"/etc/${role}.conf\"] }",
    "  user { 'app': ensure => present, shell => '/bin/bash' }",
    '}',
    '',
  ].join('\n');
}

/** Puppet Server's own mean time on the v4 catalog route, from its status API. */
function serverCatalogMeanMs(server: PuppetServer): Promise<{ mean: number; count: number }> {
  return new Promise((resolve, reject) => {
    const req = request({
      // Jetty wants the Host header to match the name given for TLS (SNI).
      host: '127.0.0.1', port: server.port, path: '/status/v1/services/master?level=debug', servername: SERVER_CERTNAME, headers: { host: `${SERVER_CERTNAME}:${server.port}` },
      cert: readFileSync(server.hostcert), key: readFileSync(server.hostprivkey), ca: readFileSync(server.localcacert), timeout: 30_000,
    }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        try {
          const metrics = JSON.parse(text).status.experimental['http-metrics'] as { 'route-id': string; mean: number; count: number }[];
          const route = metrics.find((metric) => metric['route-id'].includes('v4-catalog'));
          if (!route) throw new Error(`no v4 catalog route in ${JSON.stringify(metrics.map((metric) => metric['route-id']))}`);
          resolve({ mean: route.mean, count: route.count });
        } catch (error) {
          reject(new Error(`Puppet Server's status API: ${(error as Error).message}: ${text.slice(0, 300)}`));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export async function catalogCheckBench({ progress }: { progress: (line: string) => void }): Promise<BenchResult> {
  progress('catalog check: starting Puppet Server (about a minute)');
  const server = await startPuppetServer({ reports: 'store', authRules: [CATALOG_RULE] });
  const releases = new Map(GROUPS.map((role) => [role, 1]));
  server.writeSite(site(releases));
  const rig = await startBakeRig(
    { bootMs: 250, imageMs: 500, terminateMs: 100 },
    { poll_interval: '100ms', concurrency: 32 },
    { server: SERVER_CERTNAME, port: server.port, hostcert: server.hostcert, hostprivkey: server.hostprivkey, localcacert: server.localcacert },
  );
  try {
    await defineGroups(rig, GROUPS, { puppetserver: SERVER_CERTNAME });
    // As after each group's earlier bake: the facts its instance reported.
    for (const [index, role] of GROUPS.entries()) {
      const instance = `i-0${String(index).padStart(16, '0')}`;
      await rig.store.recordFacts({ group_name: role, bake_id: `earlier-${role}`, certname: `${role}-${instance}.autoami`, instance_id: instance, environment: 'production', facts: { os: { family: 'Debian' } } });
    }
    await warmUp(rig);
    const unchangedRun = (bake: Bake) => ({ ...reportFor(bake.certname!, { changed: 0, status: 'unchanged', changed_resources: [] }) });
    progress('catalog check: round 1, 20 groups with no recorded catalog');
    const first = await runBakes(rig, GROUPS, 50, 10 * 60_000, undefined, unchangedRun);
    const recorded = (await rig.store.listGroups()).filter((group) => group.catalog_hash !== null).length;
    if (recorded !== GROUPS.length) throw new Error(`after round 1 only ${recorded} groups have a recorded catalog: ${JSON.stringify(first.bakes.map((bake) => [bake.group_name, bake.outcome, bake.check?.reason]))}`);

    for (const role of CHANGED) releases.set(role, 2);
    server.writeSite(site(releases));
    const before = await serverCatalogMeanMs(server);
    progress(`catalog check: round 2, ${CHANGED.length} of ${GROUPS.length} roles changed`);
    const second = await runBakes(rig, GROUPS, 50, 10 * 60_000);
    const launches = rig.endpoint.counts.total('RunInstances');
    const after = await serverCatalogMeanMs(server);
    // The route's mean over round 2's compiles alone, from the two cumulative means.
    const serverMs = (after.mean * after.count - before.mean * before.count) / (after.count - before.count);
    const launched = second.bakes.filter((bake) => bake.instance_id !== null).map((bake) => bake.group_name).sort();
    const skipped = second.bakes.filter((bake) => bake.reason === 'catalog unchanged').length;
    if (launched.join() !== CHANGED.join()) throw new Error(`round 2 launched ${launched.join(', ') || 'nothing'}, not ${CHANGED.join(', ')}`);
    const compiles = second.bakes.map((bake) => bake.check?.compile_ms).filter((ms): ms is number => typeof ms === 'number');
    if (compiles.length !== GROUPS.length) throw new Error(`round 2 timed ${compiles.length} compiles`);
    const p50 = median(compiles);
    return {
      title: `Catalog check: ${GROUPS.length} groups, ${CHANGED.length} changed, on Debian's Puppet Server`,
      figures: [
        { key: 'launches_per_run_20_groups_3_changed', value: launches, unit: 'launches', target: { op: '<=', limit: CHANGED.length } },
        { key: 'catalog_check_ms_p50', value: round(p50, 1), unit: 'ms', target: { op: '<=', limit: round(serverMs + CHECK_ALLOWANCE_MS, 1) } },
        { key: 'catalog_server_compile_ms_mean', value: round(serverMs, 1), unit: 'ms', target: null },
      ],
      details: [
        ['round 2 launched', launched.join(', ')],
        ['round 2 ended "catalog unchanged"', `${skipped} groups`],
        ['round 2 outcomes', JSON.stringify(Object.entries(second.bakes.reduce<Record<string, number>>((counts, bake) => ({ ...counts, [bake.outcome ?? '-']: (counts[bake.outcome ?? '-'] ?? 0) + 1 }), {})))],
        ['check ms p50 / p90 / max (as the sidecar timed them)', `${round(p50, 1)} / ${round(percentile(compiles, 90), 1)} / ${Math.max(...compiles)}`],
        ["Puppet Server's mean on the v4 catalog route (round 2)", `${round(serverMs, 1)} ms over ${after.count - before.count} compiles`],
        ['round 1 wall (20 launches) / round 2 wall', `${round(first.wallMs / 1000, 2)} s / ${round(second.wallMs / 1000, 2)} s`],
        ['bake.concurrency, poll_interval', '32, 100 ms'],
      ],
    };
  } finally {
    await rig.stop();
    await server.stop();
  }
}
