/**
 * Re-records spec/demo/recorded-reports.json, the reports the demo submits when `puppet`
 * is absent: the real `puppet apply` runs the demo's manifest twice as a bake instance
 * with the module's report processor, no sidecar listening, so the processor spools
 * exactly what it would have sent. Needs `puppet`:
 *
 *   node --import tsx spec/demo/record-reports.ts
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { applyAs } from '../support/bake-harness.ts';
import { puppetEnv } from '../support/puppet.ts';
import { tempDir } from '../support/tmp.ts';
import { demoManifest, RECORDED_REPORTS } from './agent.ts';

const dir = tempDir('aa-record');
const config = join(dir, 'autoami.yaml');
const spool = join(dir, 'state', 'spool');
mkdirSync(spool, { recursive: true });
writeFileSync(config, stringify({ socket: join(dir, 'nobody-listens.sock'), state_dir: join(dir, 'state') }));
const puppet = puppetEnv({ AUTOAMI_CONFIG: config });
// Any well-formed bake certname: the demo puts its own instance's in place of this one.
const certname = 'demo-web-i-0123456789abcdef0.autoami';

const reports: Record<string, unknown>[] = [];
for (const expected of [2, 0]) {
  const applied = await applyAs(puppet, certname, demoManifest(dir));
  if (applied.status !== expected) throw new Error(`puppet apply exited ${applied.status}, expected ${expected}: ${applied.stderr}`);
  const spooled = readdirSync(spool).filter((name) => name.endsWith('.json')).sort();
  reports.push(JSON.parse(readFileSync(join(spool, spooled[reports.length]!), 'utf8')));
}
const [changed, unchanged] = reports;
writeFileSync(RECORDED_REPORTS, `${JSON.stringify({ changed, unchanged }, null, 2)}\n`);
console.log(`recorded ${RECORDED_REPORTS.pathname}`);
