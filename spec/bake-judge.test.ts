/** The report judgement: which Puppet runs make an AMI, which leave the group alone, which fail the bake. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { judge } from '../runtime/bake/judge.ts';
import { reportSummary } from './support/fake-bake-env.ts';

const Judge = suite('judge');

Judge('should bake a run that changed something and failed nothing, naming what changed', () => {
  const verdict = judge(reportSummary({ changed: 2, changed_resources: ['File[/etc/motd]', 'Package[nginx]'] }));
  assert.equal(verdict, { state: 'bake', reason: '2 resources changed: File[/etc/motd], Package[nginx]' });
});

Judge('should name at most five changed resources and count the rest', () => {
  const titles = Array.from({ length: 8 }, (_, index) => `File[/etc/f${index}]`);
  const verdict = judge(reportSummary({ changed: 8, changed_resources: titles }));
  assert.is(verdict.state, 'bake');
  assert.is(verdict.reason, `8 resources changed: ${titles.slice(0, 5).join(', ')} and 3 more`);
});

Judge('should bake on the change count alone when the report lists no titles', () => {
  assert.equal(judge(reportSummary({ changed: 3, changed_resources: [] })), { state: 'bake', reason: '3 resources changed' });
});

Judge('should leave the group alone after a clean run that changed nothing', () => {
  const verdict = judge(reportSummary({ status: 'unchanged', changed: 0, changed_resources: [] }));
  assert.equal(verdict, { state: 'unchanged', reason: 'the Puppet run changed nothing' });
});

Judge('should judge by the counts, not the status word: status changed with nothing changed is unchanged', () => {
  assert.is(judge(reportSummary({ status: 'changed', changed: 0, changed_resources: [] })).state, 'unchanged');
});

Judge('should fail a run with failed resources even when it also changed some', () => {
  const verdict = judge(reportSummary({ status: 'changed', changed: 4, failed: 1, failed_resources: ['Exec[migrate]'] }));
  assert.equal(verdict, { state: 'failed_run', reason: 'the Puppet run failed (status changed, 1 failed resources: Exec[migrate])' });
});

Judge('should fail a run whose only trouble is a service that failed to restart, counting it', () => {
  const verdict = judge(reportSummary({ status: 'changed', changed: 1, failed: 0, failed_to_restart: 2, failed_resources: [] }));
  assert.equal(verdict, { state: 'failed_run', reason: 'the Puppet run failed (status changed, 2 failed resources)' });
});

Judge('should fail a run whose status is failed even with no failed resource (a catalog that did not compile)', () => {
  const verdict = judge(reportSummary({ status: 'failed', changed: 0, failed: 0, changed_resources: [] }));
  assert.equal(verdict, { state: 'failed_run', reason: 'the Puppet run failed (status failed, 0 failed resources)' });
});

Judge('should name at most five failed resources and count the rest', () => {
  const titles = Array.from({ length: 7 }, (_, index) => `Service[s${index}]`);
  const verdict = judge(reportSummary({ status: 'failed', failed: 7, failed_resources: titles }));
  assert.match(verdict.reason, `7 failed resources: ${titles.slice(0, 5).join(', ')} and 2 more)`);
});

Judge.run();
