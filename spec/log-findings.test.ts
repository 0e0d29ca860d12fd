import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderBootstrapScript, userDataFor } from '../runtime/bootstrap/script.ts';
import { bootstrapChallenges, reportProcessorProblems, secretLines, sidecarErrors } from './support/log-findings.ts';

// Lines as spec/support/puppetserver.ts has Puppet Server write them (`%d %-5p [%c{2}] %m%n`).
const SERVER_LOG = [
  '2026-12-02 09:06:41,101 INFO  [puppetserver] Puppet Caching node for db-i-0a1b2c3d4e5f60718.autoami',
  '2026-12-02 09:06:41,377 ERROR [p.s.c.certificate-authority-core] db-i-0a1b2c3d4e5f60718.autoami already has a signed certificate; ignoring certificate request',
  '2026-12-02 09:06:42,001 WARN  [puppetserver] Puppet autoami: sidecar unreachable (connection refused); report for web-i-1.autoami spooled to /var/lib/autoami/spool/x.json',
  '2026-12-02 09:06:42,002 ERROR [puppetserver] Puppet autoami report processor: NoMethodError: undefined method',
  '2026-12-02 09:06:42,003 ERROR [puppetserver] Puppet Report processor failed: boom',
  '2026-12-02 09:06:42,004 INFO  [puppetserver] Puppet autoami: not a bake instance',
].join('\n');

const Server = suite('reportProcessorProblems');

Server('should flag the processor\'s own warnings and errors and nothing else', () => {
  assert.equal(reportProcessorProblems(SERVER_LOG), SERVER_LOG.split('\n').slice(2, 5));
});

Server('should not flag the CA refusing a CSR sent twice for a bake certname', () => {
  assert.equal(reportProcessorProblems(SERVER_LOG.split('\n').slice(0, 2).join('\n')), []);
});

const Sidecar = suite('sidecarErrors');

Sidecar('should flag JSON lines at level error only', () => {
  const log = [
    '{"time":"2026-12-02T09:06:41.000Z","level":"info","message":"listening"}',
    '(node:5205) Warning: NodeVersionSupportWarning: error in the future',
    '{"time":"2026-12-02T09:06:42.000Z","level":"error","message":"bake failed","bake":"b1"}',
    '{not json, level "error"',
  ];
  assert.equal(sidecarErrors(log.join('\n')), [log[2]]);
});

const Secrets = suite('secretLines');

Secrets('should name the log and mask the secret', () => {
  assert.equal(secretLines({ sidecar: 'ok\nuser admin pass hunter2 sent\n', server: 'hunter2' }, ['hunter2']), [
    'sidecar: user admin pass [SECRET] sent',
    'server: [SECRET]',
  ]);
  assert.equal(secretLines({ sidecar: 'nothing here' }, ['hunter2']), []);
});

Secrets('should find the challenge of every bootstrap script, ssh and user-data alike, once each', () => {
  const [one, two] = ['1a'.repeat(32), '2b'.repeat(32)];
  const common = { server: 'puppet', serverPort: 8140, environment: null, waitForCert: 15, noop: false };
  const ssh = renderBootstrapScript({ ...common, certname: 'web-i-0123abcd.autoami', instanceId: 'i-0123abcd', role: 'web', challenge: one });
  const userData = userDataFor({ ...common, group: 'db', challenge: two });
  assert.equal(bootstrapChallenges([ssh, userData, `${ssh}\n${ssh}`, 'no script']), [one, two]);
});

Server.run();
Sidecar.run();
Secrets.run();
