/** The report judgement: which Puppet runs make an AMI, which leave the group alone, which fail the bake. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { judge, onNewBase, type JudgePolicy } from '../runtime/bake/judge.ts';
import { reportSummary } from './support/fake-bake-env.ts';

/** A group's defaults: intentional changes bake, no resource is ignored. */
const DEFAULTS: JudgePolicy = { bake_on: 'intentional', ignore_resources: [] };

const Judge = suite('judge');

Judge('should bake a run that changed something and failed nothing, naming what changed', () => {
  const verdict = judge(reportSummary({ changed: 2, changed_resources: ['File[/etc/motd]', 'Package[nginx]'] }), DEFAULTS);
  assert.equal(verdict, { state: 'bake', reason: '2 resources changed: File[/etc/motd], Package[nginx]' });
});

Judge('should name at most five changed resources and count the rest', () => {
  const titles = Array.from({ length: 8 }, (_, index) => `File[/etc/f${index}]`);
  const verdict = judge(reportSummary({ changed: 8, changed_resources: titles }), DEFAULTS);
  assert.is(verdict.state, 'bake');
  assert.is(verdict.reason, `8 resources changed: ${titles.slice(0, 5).join(', ')} and 3 more`);
});

Judge('should bake on the change count alone when the report lists no titles', () => {
  assert.equal(judge(reportSummary({ changed: 3, changed_resources: [] }), DEFAULTS), { state: 'bake', reason: '3 resources changed' });
});

Judge('should leave the group alone after a clean run that changed nothing', () => {
  const verdict = judge(reportSummary({ status: 'unchanged', changed: 0, changed_resources: [] }), DEFAULTS);
  assert.equal(verdict, { state: 'unchanged', reason: 'the Puppet run changed nothing' });
});

Judge('should judge by the counts, not the status word: status changed with nothing changed is unchanged', () => {
  assert.is(judge(reportSummary({ status: 'changed', changed: 0, changed_resources: [] }), DEFAULTS).state, 'unchanged');
});

Judge('should fail a run with failed resources even when it also changed some', () => {
  const verdict = judge(reportSummary({ status: 'changed', changed: 4, failed: 1, failed_resources: ['Exec[migrate]'] }), DEFAULTS);
  assert.equal(verdict, { state: 'failed_run', reason: 'the Puppet run failed (status changed, 1 failed resources: Exec[migrate])' });
});

Judge('should fail a run whose only trouble is a service that failed to restart, counting it', () => {
  const verdict = judge(reportSummary({ status: 'changed', changed: 1, failed: 0, failed_to_restart: 2, failed_resources: [] }), DEFAULTS);
  assert.equal(verdict, { state: 'failed_run', reason: 'the Puppet run failed (status changed, 2 failed resources)' });
});

Judge('should fail a run whose status is failed even with no failed resource (a catalog that did not compile)', () => {
  const verdict = judge(reportSummary({ status: 'failed', changed: 0, failed: 0, changed_resources: [] }), DEFAULTS);
  assert.equal(verdict, { state: 'failed_run', reason: 'the Puppet run failed (status failed, 0 failed resources)' });
});

Judge('should name at most five failed resources and count the rest', () => {
  const titles = Array.from({ length: 7 }, (_, index) => `Service[s${index}]`);
  const verdict = judge(reportSummary({ status: 'failed', failed: 7, failed_resources: titles }), DEFAULTS);
  assert.match(verdict.reason, `7 failed resources: ${titles.slice(0, 5).join(', ')} and 2 more)`);
});

Judge('should not bake a run whose every change repaired drift, saying so and how to bake it anyway', () => {
  const report = reportSummary({ changed: 2, changed_resources: ['File[/etc/hosts]', 'Service[ntp]'], corrective_change: 2, corrective_resources: ['File[/etc/hosts]', 'Service[ntp]'] });
  assert.equal(judge(report, DEFAULTS), {
    state: 'unchanged',
    reason: 'every change repaired drift on the fresh instance (corrective, not intentional): File[/etc/hosts], Service[ntp]; --bake-on any would bake it',
  });
});

Judge('should bake a run with one intentional change among corrective ones, counting only the intentional', () => {
  const report = reportSummary({ changed: 3, changed_resources: ['File[/etc/hosts]', 'Package[nginx]', 'Service[ntp]'], corrective_resources: ['File[/etc/hosts]', 'Service[ntp]'] });
  assert.equal(judge(report, DEFAULTS), { state: 'bake', reason: '1 resources changed: Package[nginx]' });
});

Judge('should bake corrective changes too with --bake-on any', () => {
  const report = reportSummary({ changed: 1, changed_resources: ['File[/etc/hosts]'], corrective_resources: ['File[/etc/hosts]'] });
  assert.equal(judge(report, { ...DEFAULTS, bake_on: 'any' }), { state: 'bake', reason: '1 resources changed: File[/etc/hosts]' });
});

Judge('should not bake a run that changed only ignored resources, naming them', () => {
  const report = reportSummary({ changed: 3, changed_resources: ['Exec[apt_update]', 'Notify[hello]', 'Notify[bye]'] });
  const verdict = judge(report, { ...DEFAULTS, ignore_resources: ['Exec[apt_update]', 'Notify[*]'] });
  assert.equal(verdict, { state: 'unchanged', reason: 'only ignored resources changed: Exec[apt_update], Notify[hello], Notify[bye]' });
});

Judge('should bake what an ignore list leaves, saying which changes did not count', () => {
  const report = reportSummary({ changed: 2, changed_resources: ['Exec[apt_update]', 'Package[nginx]'] });
  const verdict = judge(report, { ...DEFAULTS, ignore_resources: ['Exec[apt_update]'] });
  assert.equal(verdict, { state: 'bake', reason: '1 resources changed: Package[nginx] (changes to ignored Exec[apt_update] do not count)' });
});

Judge('should ignore a resource even when its change was intentional, and under --bake-on any', () => {
  const report = reportSummary({ changed: 1, changed_resources: ['Exec[apt_update]'] });
  assert.is(judge(report, { bake_on: 'any', ignore_resources: ['exec[apt_update]'] }).state, 'unchanged');
});

Judge('should count changes the report could not name, since they might be anything', () => {
  const report = reportSummary({ changed: 600, changed_resources: Array.from({ length: 500 }, (_, index) => `Notify[n${index}]`), corrective_resources: [] });
  const verdict = judge(report, { ...DEFAULTS, ignore_resources: ['Notify[*]'] });
  assert.equal(verdict.state, 'bake');
  assert.match(verdict.reason, /^100 resources changed \(changes to ignored Notify\[n0\]/);
});

Judge('should still fail a run with failures whatever it ignores', () => {
  const report = reportSummary({ status: 'failed', changed: 1, failed: 1, changed_resources: ['Exec[apt_update]'], failed_resources: ['Exec[apt_update]'] });
  assert.is(judge(report, { bake_on: 'intentional', ignore_resources: ['Exec[*]'] }).state, 'failed_run');
});

const NEW_BASE = { from: 'ami-0abc1234', to: 'ami-0fedcba9876543210', source: '/aws/service/debian/release/12/latest/amd64' };

Judge('should bake a run from a new base image whatever it changed, the new base named first when nothing else counts', () => {
  const quiet = judge(reportSummary({ status: 'unchanged', changed: 0, changed_resources: [] }), DEFAULTS);
  assert.equal(onNewBase(quiet, NEW_BASE), {
    state: 'bake', reason: `a new base image ami-0fedcba9876543210 (was ami-0abc1234) from ${NEW_BASE.source}; the Puppet run changed nothing`,
  });
  const changed = judge(reportSummary({ changed: 1, changed_resources: ['Package[nginx]'] }), DEFAULTS);
  assert.equal(onNewBase(changed, NEW_BASE), {
    state: 'bake', reason: `1 resources changed: Package[nginx], on a new base image ami-0fedcba9876543210 (was ami-0abc1234) from ${NEW_BASE.source}`,
  });
});

Judge('should leave a failed run failed and a run without a new base as it was judged', () => {
  const failed = judge(reportSummary({ status: 'failed', changed: 0, failed: 1, failed_resources: ['Package[nginx]'] }), DEFAULTS);
  assert.equal(onNewBase(failed, NEW_BASE), failed);
  const quiet = judge(reportSummary({ status: 'unchanged', changed: 0, changed_resources: [] }), DEFAULTS);
  assert.equal(onNewBase(quiet, null), quiet);
});

Judge.run();
