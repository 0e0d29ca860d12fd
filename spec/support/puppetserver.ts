/**
 * Debian's real Puppet Server (JRuby, its own CA) on a loopback port, with every directory
 * it writes (confdir, ssldir, cadir, vardir, codedir, logs) in a temp dir, so a test never
 * touches the machine's /etc/puppet or /var/lib/puppet.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { freePort } from './sshd.ts';
import { tempDir } from './tmp.ts';

const INSTALL_DIR = '/usr/share/puppetserver';
const JAR = join(INSTALL_DIR, 'puppetserver.jar');
const PACKAGE_CONFIG = '/etc/puppet/puppetserver';
/** The master's certname: Puppet Server's own certificate carries it (and `puppet`) as DNS names. */
export const SERVER_CERTNAME = 'localhost';

export interface PuppetServerOptions {
  /** puppet.conf `[server] reports`. */
  readonly reports: string;
  /** Extra auth.conf rules (HOCON objects), ahead of the package's rules. */
  readonly authRules?: readonly string[];
  /** puppet.conf `[server] autosign`: a policy command's absolute path; default false (nothing is autosigned). */
  readonly autosign?: string;
}

export interface PuppetServer {
  readonly port: number;
  readonly confdir: string;
  readonly codedir: string;
  /** production's modulepath entry: install modules here. */
  readonly modulesDir: string;
  readonly cadir: string;
  readonly hostcert: string;
  readonly hostprivkey: string;
  readonly localcacert: string;
  writeSite(manifest: string): void;
  log(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function requirePuppetServer(): void {
  if (!existsSync(JAR)) throw new Error(`${JAR} is missing: install Debian puppetserver (apt-get install puppetserver; see .ci/run)`);
}

function simpleStatus(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/status/v1/simple', rejectUnauthorized: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('error', () => resolve(''));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function writeConfig(root: string, port: number, options: PuppetServerOptions): void {
  const dir = (name: string) => join(root, name);
  for (const name of ['conf.d', 'services.d', 'confdir', 'ca', 'var', 'run', 'log', 'code/environments/production/manifests', 'code/environments/production/modules']) {
    mkdirSync(dir(name), { recursive: true });
  }
  for (const name of ['bootstrap.cfg', 'ca.cfg']) copyFileSync(join(PACKAGE_CONFIG, 'services.d', name), join(dir('services.d'), name));
  for (const name of ['web-routes.conf', 'metrics.conf', 'ca.conf']) copyFileSync(join(PACKAGE_CONFIG, 'conf.d', name), join(dir('conf.d'), name));
  writeFileSync(
    join(root, 'logback.xml'),
    '<configuration><appender name="OUT" class="ch.qos.logback.core.ConsoleAppender"><encoder><pattern>%d %-5p [%c{2}] %m%n</pattern></encoder></appender>' +
      '<root level="info"><appender-ref ref="OUT"/></root></configuration>\n',
  );
  const conf = (name: string, text: string) => writeFileSync(join(dir('conf.d'), name), text);
  conf('global.conf', `global: { logging-config: ${JSON.stringify(join(root, 'logback.xml'))} }\n`);
  conf('webserver.conf', `webserver: { client-auth: want, ssl-host: 127.0.0.1, ssl-port: ${port} }\n`);
  conf(
    'puppetserver.conf',
    [
      'jruby-puppet: {',
      '  ruby-load-path: [/usr/lib/puppetserver/ruby/vendor_ruby]',
      `  gem-home: ${JSON.stringify(join(root, 'var', 'jruby-gems'))}`,
      '  gem-path: [${jruby-puppet.gem-home}, "/usr/lib/puppetserver/vendored-jruby-gems"]',
      `  server-conf-dir: ${JSON.stringify(dir('confdir'))}`,
      `  server-code-dir: ${JSON.stringify(dir('code'))}`,
      `  server-var-dir: ${JSON.stringify(dir('var'))}`,
      `  server-run-dir: ${JSON.stringify(dir('run'))}`,
      `  server-log-dir: ${JSON.stringify(dir('log'))}`,
      // One JRuby: the tests send one request at a time, and each instance costs seconds to start.
      '  max-active-instances: 1',
      '}',
      'http-client: {}',
      'profiler: {}',
      '',
    ].join('\n'),
  );
  conf('auth.conf', authConf(options.authRules ?? []));
  // Debian's puppet keeps ssldir and cadir outside confdir by default: name every one.
  writeFileSync(
    join(dir('confdir'), 'puppet.conf'),
    [
      '[main]',
      `certname = ${SERVER_CERTNAME}`,
      `server = ${SERVER_CERTNAME}`,
      `masterport = ${port}`,
      `ssldir = ${join(dir('confdir'), 'ssl')}`,
      `vardir = ${dir('var')}`,
      `logdir = ${dir('log')}`,
      `rundir = ${dir('run')}`,
      '[server]',
      `cadir = ${dir('ca')}`,
      `reports = ${options.reports}`,
      `autosign = ${options.autosign ?? 'false'}`,
      'environment_timeout = 0',
      '',
    ].join('\n'),
  );
}

/** The package's auth.conf with `extra` rules put first in its `rules` array. */
function authConf(extra: readonly string[]): string {
  const packaged = readFileSync(join(PACKAGE_CONFIG, 'conf.d', 'auth.conf'), 'utf8');
  const at = packaged.indexOf('rules: [');
  if (at < 0) throw new Error(`${PACKAGE_CONFIG}/conf.d/auth.conf has no "rules: [" to add to`);
  const split = at + 'rules: ['.length;
  return `${packaged.slice(0, split)}\n${extra.map((rule) => `    ${rule},\n`).join('')}${packaged.slice(split)}`;
}

export async function startPuppetServer(options: PuppetServerOptions): Promise<PuppetServer> {
  requirePuppetServer();
  const root = tempDir('psrv');
  const port = await freePort();
  writeConfig(root, port, options);
  const args = [
    '-Xms256m',
    '-Xmx1g',
    // JRuby's own --dev settings: a server that lives for one test run gains nothing from the
    // optimising JIT, which would cost more CPU than the whole run it serves.
    '-XX:+TieredCompilation',
    '-XX:TieredStopAtLevel=1',
    '-Djruby.logger.class=com.puppetlabs.jruby_utils.jruby.Slf4jLogger',
    '-Djruby.lib=/usr/share/jruby/lib',
    '-XX:+CrashOnOutOfMemoryError',
    '-jar',
    JAR,
    '--config',
    join(root, 'conf.d'),
    '--bootstrap-config',
    join(root, 'services.d'),
  ];
  const child = spawn('java', args, { cwd: INSTALL_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let log = '';
  child.stdout!.on('data', (chunk) => (log += chunk));
  child.stderr!.on('data', (chunk) => (log += chunk));
  const exited = new Promise<void>((resolve) => child.on('close', () => (running.delete(child), resolve())));
  // Only bounds a hang: the JVM and JRuby start in a minute or two, but on two cores shared
  // with another Puppet Server, MariaDB and test runs it can take several.
  const deadline = Date.now() + 600_000;
  while ((await simpleStatus(port)) !== 'running') {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Puppet Server did not start on 127.0.0.1:${port}:\n${log.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const confdir = join(root, 'confdir');
  const ssl = join(confdir, 'ssl');
  return {
    port,
    confdir,
    codedir: join(root, 'code'),
    modulesDir: join(root, 'code/environments/production/modules'),
    cadir: join(root, 'ca'),
    hostcert: join(ssl, 'certs', `${SERVER_CERTNAME}.pem`),
    hostprivkey: join(ssl, 'private_keys', `${SERVER_CERTNAME}.pem`),
    localcacert: join(ssl, 'certs', 'ca.pem'),
    writeSite: (manifest) => writeFileSync(join(root, 'code/environments/production/manifests/site.pp'), manifest),
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
