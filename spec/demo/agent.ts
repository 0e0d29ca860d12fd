/**
 * The bake instance's one agent run, played on this machine: the real `puppet apply` with
 * the module's `autoami` report processor when `puppet` is installed, else a report that
 * processor once sent (recorded-reports.json), submitted over the socket as it would be.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyAs } from '../support/bake-harness.ts';
import { puppetEnv } from '../support/puppet.ts';
import type { RawClient } from '../support/rpc.ts';

/** What the agent manages: one file, so the first run changes it and the second finds it in place. */
export function demoManifest(dir: string): string {
  return `file { 'demo motd': path => '${join(dir, 'motd')}', content => "baked by the AutoAMI demo\\n" }`;
}

export interface DemoAgent {
  /** For the banner: which agent the demo uses. */
  readonly description: string;
  /** One agent run as the bake instance `certname`; resolves with a line saying what happened. */
  run(certname: string, sidecar: RawClient): Promise<string>;
  /** Its private files, removed with the demo's own. */
  readonly dirs: readonly string[];
}

/** Asynchronous: Ruby takes seconds to start, time the sidecar uses to start beside it. */
export function installedPuppetVersion(): Promise<string | undefined> {
  return new Promise((resolve) =>
    execFile('puppet', ['--version'], { encoding: 'utf8' }, (error, stdout) => resolve(error ? undefined : stdout.trim())),
  );
}

export function realPuppetAgent(version: string, configFile: string, dir: string): DemoAgent {
  // AUTOAMI_CONFIG is how the report processor finds this demo's sidecar; the private
  // confdir/vardir keep the machine's own Puppet untouched.
  const puppet = puppetEnv({ AUTOAMI_CONFIG: configFile });
  return {
    description: `real puppet ${version} (puppet apply with the autoami report processor)`,
    dirs: [join(puppet.confdir, '..')],
    async run(certname) {
      const applied = await applyAs(puppet, certname, demoManifest(dir));
      // --detailed-exitcodes: 2 = changes applied, 0 = nothing to do, 4/6 = failures.
      if (applied.status === 2) return 'puppet apply exited 2: it changed the node, and its report processor sent the report';
      if (applied.status === 0) return 'puppet apply exited 0: nothing to change, and its report processor sent the report';
      throw new Error(`puppet apply exited ${applied.status}: ${applied.errorLines.join(' | ') || applied.stdout}`);
    },
  };
}

type Summary = Record<string, unknown> & { status: string; changed: number; changed_resources: string[] };
export const RECORDED_REPORTS = new URL('./recorded-reports.json', import.meta.url);

export function recordedAgent(): DemoAgent {
  const recorded = JSON.parse(readFileSync(RECORDED_REPORTS, 'utf8')) as { changed: Summary; unchanged: Summary };
  // The first run of a fresh instance changes the file; every later one finds it in place.
  const runs = [recorded.changed, recorded.unchanged];
  let next = 0;
  return {
    description: 'recorded report (no `puppet` on PATH: replaying what the autoami report processor sent)',
    dirs: [],
    async run(certname, sidecar) {
      const report = runs[Math.min(next++, runs.length - 1)]!;
      // Only what names this instance and this run changes; the rest is as Puppet reported it.
      const params = { ...report, host: certname, transaction_uuid: randomUUID(), time: new Date().toISOString() };
      const reply = await sidecar.call('report.submit', params);
      if (!reply.result) throw new Error(`report.submit failed: ${JSON.stringify(reply.error)}`);
      const titles = report.changed_resources.length ? ` (${report.changed_resources.join(', ')})` : '';
      return `recorded report submitted: ${report.status}, ${report.changed} resource(s) changed${titles} → ${reply.result.state}`;
    },
  };
}
