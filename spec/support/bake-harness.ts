/** Helpers for bake tests: follow a bake in the store, and play the instance's agent run. */
import type { Bake, BakeState, ReportSummary, Store } from '../../runtime/store/store.ts';
import type { PuppetEnv } from './puppet.ts';

export async function waitForBake(
  store: Store,
  id: string,
  until: (bake: Bake) => boolean,
  // Only bounds a hang: a bake step on two busy cores (MySQL, EC2 polls, a sidecar under load) may take a while.
  timeoutMs = 120_000,
): Promise<Bake> {
  const deadline = Date.now() + timeoutMs;
  let last: Bake | undefined;
  while (Date.now() < deadline) {
    last = await store.getBake(id);
    if (last && until(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`bake ${id} did not get there within ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`);
}

export const inState = (...states: BakeState[]) => (bake: Bake) => states.includes(bake.state);

/** `puppet apply` as the bake instance: its certname makes the report AutoAMI's. */
export function applyAs(puppet: PuppetEnv, certname: string, manifest: string) {
  return puppet.run(['apply', '--reports', 'autoami', '--certname', certname, '--detailed-exitcodes', '-e', manifest]);
}

export function reportFor(certname: string, overrides: Partial<ReportSummary> = {}): ReportSummary {
  return {
    host: certname,
    transaction_uuid: `${certname}-${Math.random().toString(16).slice(2)}`,
    configuration_version: '1700000000',
    status: 'changed',
    environment: 'production',
    time: new Date().toISOString(),
    changed: 1,
    failed: 0,
    failed_to_restart: 0,
    corrective_change: 0,
    corrective_resources: [],
    noop: false,
    pending_resources: [],
    changed_resources: ['File[/etc/motd]'],
    failed_resources: [],
    ...overrides,
  };
}
