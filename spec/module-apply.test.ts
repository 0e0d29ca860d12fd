/**
 * The `autoami` class under a real `puppet apply`, with Debian's puppetlabs-mysql on the
 * modulepath and a throwaway MariaDB: it creates the database, the user and the grant,
 * writes autoami.yaml (0640, no password) and autoami.dbpass (0600), and a second apply
 * changes nothing. There is no systemd here, so the service, unit, install and Node.js
 * package are switched off by their parameters.
 *
 * A second suite applies the module as `npm run build` ships it (its files/sidecar, with
 * puppetlabs-inifile): the sidecar installed with its entry points 0755, the `autoami`
 * command and the policy-autosign command working with the Node.js running this test, and
 * puppet.conf's `[server]` gaining the report processor (the processors already there kept)
 * and `autosign`; a second apply changes nothing, so no mode is reset.
 *
 * Pointing puppetlabs-mysql at the throwaway server: its providers run the `mysql` client
 * as `mysql --defaults-extra-file=<root_home>/.my.cnf ...`, where root_home is a fact
 * (stdlib's). The child gets FACTER_root_home (Facter takes FACTER_* variables as facts,
 * over any custom fact of that name) and HOME set to a temp dir holding a .my.cnf with the
 * throwaway server's socket and `user=root`, so root's real ~/.my.cnf and the system's
 * server are never consulted. `mysql::client` is declared with `package_manage => false`,
 * so the run installs no package; the `mysql` client binary itself must be installed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { build } from '../generator/build.ts';
import { loadConfig } from '../runtime/config.ts';
import { startMariadb, type Mariadb } from './support/mariadb.ts';
import { puppetEnv, type PuppetEnv, type PuppetResult } from './support/puppet.ts';
import { tempDir } from './support/tmp.ts';

const SYSTEM_MODULES = process.env.AUTOAMI_SYSTEM_MODULES ?? '/usr/share/puppet/modules';
const PASSWORD = 'autoamipassword';
const DB_NAME = 'autoami_apply';

interface Context {
  mariadb: Mariadb;
  puppet: PuppetEnv;
  env: Record<string, string>;
  manifest: string;
  configDir: string;
  stateDir: string;
  runDir: string;
  first: PuppetResult;
}

const Apply = suite<Context>('autoami class under puppet apply');

function apply(context: Context): Promise<PuppetResult> {
  return context.puppet.run(['apply', '--detailed-exitcodes', '--reports', 'none', '--color', 'false', context.manifest], context.env);
}

function describe(result: PuppetResult): string {
  return `exit ${result.status}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

function uid(name: string): number {
  return Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
}

function mode(path: string): string {
  return (statSync(path).mode & 0o7777).toString(8).padStart(4, '0');
}

Apply.before(async (context) => {
  if (process.getuid?.() !== 0) throw new Error('module-apply.test.ts applies file ownership and must run as root (as npm test does in CI)');
  context.mariadb = await startMariadb();
  const root = tempDir('apply');
  const home = join(root, 'home');
  context.configDir = join(root, 'etc');
  context.stateDir = join(root, 'state');
  context.runDir = join(root, 'run');
  for (const dir of [home, context.configDir]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(home, '.my.cnf'), `[client]\nuser=root\nsocket=${context.mariadb.socketPath}\n`, { mode: 0o600 });
  context.env = { HOME: home, FACTER_root_home: home };
  context.manifest = join(root, 'site.pp');
  writeFileSync(
    context.manifest,
    `class { 'mysql::client':
  package_manage => false,
}
class { 'autoami':
  manage_db      => true,
  db_user        => 'autoami',
  db_password    => Sensitive('${PASSWORD}'),
  db_name        => '${DB_NAME}',
  db_socket      => '${context.mariadb.socketPath}',
  config_dir     => '${context.configDir}',
  state_dir      => '${context.stateDir}',
  socket         => '${join(context.runDir, 'autoami.sock')}',
  aws_region     => 'eu-west-1',
  user           => 'nobody',
  group          => 'nogroup',
  puppet_group   => 'nogroup',
  manage_user    => false,
  manage_service => false,
  manage_install => false,
  manage_nodejs  => false,
  manage_command => false,
}
`,
  );
  context.puppet = puppetEnv({}, [SYSTEM_MODULES]);
  context.first = await apply(context);
});

Apply('should apply with changes the first time (exit 2)', (context) => {
  assert.is(context.first.status, 2, describe(context.first));
});

Apply('should create the database, the user and its grant', async (context) => {
  const admin = await createConnection({ socketPath: context.mariadb.socketPath, user: 'root' });
  try {
    const [databases] = await admin.query('SELECT SCHEMA_NAME AS name, DEFAULT_CHARACTER_SET_NAME AS charset FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [DB_NAME]);
    assert.equal(databases, [{ name: DB_NAME, charset: 'utf8mb4' }]);
    const [users] = await admin.query("SELECT User AS user, Host AS host FROM mysql.user WHERE User = 'autoami'");
    assert.equal(users, [{ user: 'autoami', host: 'localhost' }]);
    // The grant as the server stores it, not as SHOW GRANTS words it: ALL on the database is
    // every privilege column of its mysql.db row (however many this MariaDB has), bar GRANT OPTION.
    const [grants] = (await admin.query('SELECT * FROM mysql.db WHERE User = ? AND Host = ?', ['autoami', 'localhost'])) as unknown as [Record<string, string>[]];
    assert.equal(grants.map((row) => row.Db), [DB_NAME]);
    const privileges = Object.entries(grants[0]!).filter(([column]) => column.endsWith('_priv'));
    assert.ok(privileges.length > 10, JSON.stringify(grants[0]));
    assert.equal(privileges.filter(([column, value]) => value !== (column === 'Grant_priv' ? 'N' : 'Y')), [], JSON.stringify(grants[0]));
  } finally {
    await admin.end();
  }
});

Apply('should let the new user log in with the password and use only its database', async (context) => {
  const conn = await createConnection({ socketPath: context.mariadb.socketPath, user: 'autoami', password: PASSWORD, database: DB_NAME });
  try {
    await conn.query('CREATE TABLE probe (id INT PRIMARY KEY)');
    await conn.query('DROP TABLE probe');
    const [rows] = (await conn.query('SHOW DATABASES')) as unknown as [{ Database: string }[]];
    assert.equal(rows.map((row) => row.Database).sort(), [DB_NAME, 'information_schema'].sort());
  } finally {
    await conn.end();
  }
});

Apply('should write autoami.yaml 0640 root:nogroup, without the password', (context) => {
  const file = join(context.configDir, 'autoami.yaml');
  const stat = statSync(file);
  assert.is(mode(file), '0640');
  assert.is(stat.uid, 0);
  assert.is(stat.gid, Number(execFileSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).split(':')[2]));
  const text = readFileSync(file, 'utf8');
  assert.not.match(text, PASSWORD);
  assert.match(text, `password_file: '${join(context.configDir, 'autoami.dbpass')}'`);
});

Apply('should write the password to autoami.dbpass, 0600, owned by the sidecar user', (context) => {
  const file = join(context.configDir, 'autoami.dbpass');
  assert.is(mode(file), '0600');
  assert.is(statSync(file).uid, uid('nobody'));
  assert.is(readFileSync(file, 'utf8'), `${PASSWORD}\n`);
});

Apply('should write a configuration the sidecar accepts, reaching the new database', async (context) => {
  const config = await loadConfig(join(context.configDir, 'autoami.yaml'));
  assert.is(config.state_dir, context.stateDir);
  assert.is(config.socket, join(context.runDir, 'autoami.sock'));
  assert.is(config.aws.region, 'eu-west-1');
  assert.equal(
    { ...config.database, pool_size: undefined },
    { host: undefined, port: 3306, socket_path: context.mariadb.socketPath, user: 'autoami', password: PASSWORD, name: DB_NAME, pool_size: undefined },
  );
  const db = config.database!;
  const conn = await createConnection({ socketPath: db.socket_path, user: db.user, password: db.password, database: db.name });
  await conn.end();
});

Apply('should create state_dir 0750, its spool 0770 and the socket directory', (context) => {
  assert.is(mode(context.stateDir), '0750');
  assert.is(mode(join(context.stateDir, 'spool')), '0770');
  assert.is(mode(context.runDir), '0750');
});

Apply('should never print the password', (context) => {
  assert.not.match(context.first.stdout + context.first.stderr, PASSWORD);
});

Apply('should change nothing on a second apply (exit 0)', async (context) => {
  const second = await apply(context);
  assert.is(second.status, 0, describe(second));
  assert.not.match(second.stdout + second.stderr, PASSWORD);
});

Apply.run();

interface InstalledContext {
  puppet: PuppetEnv;
  manifest: string;
  root: string;
  installDir: string;
  command: string;
  configFile: string;
  socket: string;
  puppetConf: string;
  version: string;
  first: PuppetResult;
}

const Installed = suite<InstalledContext>('the built module under puppet apply');

const applyInstalled = (context: InstalledContext) => context.puppet.run(['apply', '--detailed-exitcodes', '--reports', 'none', '--color', 'false', context.manifest]);

/** A process environment without the test's own AUTOAMI_CONFIG, NODE_OPTIONS (tsx) or NODE_PATH. */
function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of ['AUTOAMI_CONFIG', 'NODE_OPTIONS', 'NODE_PATH']) if (!(name in extra)) delete env[name];
  return env;
}

Installed.before(async (context) => {
  if (process.getuid?.() !== 0) throw new Error('module-apply.test.ts applies file ownership and must run as root (as npm test does in CI)');
  context.root = tempDir('built-apply');
  const built = await build({ outDir: join(context.root, 'pkg') });
  context.version = built.version;
  const modules = join(context.root, 'modules');
  mkdirSync(modules);
  execFileSync('tar', ['-xzf', built.tarball, '-C', modules]);
  renameSync(join(modules, `${built.name}-${built.version}`), join(modules, 'autoami'));
  // The built module ahead of module/ (which has no files/sidecar), then Debian's mysql, stdlib, inifile.
  context.puppet = puppetEnv({}, [modules, SYSTEM_MODULES]);
  context.puppetConf = join(context.puppet.confdir, 'puppet.conf');
  writeFileSync(context.puppetConf, '[main]\nstrict_variables = true\n\n[server]\nreports = store, http\nreporturl = http://reports.example.com/\n');
  context.installDir = join(context.root, 'opt', 'autoami');
  context.command = join(context.root, 'bin', 'autoami');
  context.configFile = join(context.root, 'etc', 'autoami.yaml');
  context.socket = join(context.root, 'run', 'autoami.sock');
  for (const dir of ['etc', 'bin', 'opt']) mkdirSync(join(context.root, dir));
  context.manifest = join(context.root, 'site.pp');
  writeFileSync(
    context.manifest,
    `class { 'autoami':
  config_dir        => '${join(context.root, 'etc')}',
  state_dir         => '${join(context.root, 'state')}',
  socket            => '${context.socket}',
  install_dir       => '${context.installDir}',
  command_path      => '${context.command}',
  node_binary       => '${process.execPath}',
  puppet_ca_signing => false,
  autosign          => true,
  metrics_listen    => '127.0.0.1:9777',
  user              => 'nobody',
  group             => 'nogroup',
  puppet_group      => 'nogroup',
  manage_user       => false,
  manage_service    => false,
  manage_nodejs     => false,
}
`,
  );
  context.first = await applyInstalled(context);
});

Installed('should apply with changes the first time (exit 2)', (context) => {
  assert.is(context.first.status, 2, describe(context.first));
});

Installed('should install the few files of the sidecar, the entry points 0755 and the rest 0644', (context) => {
  const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)).map((file) => `${entry.name}/${file}`) : [entry.name]));
  const installed = files(context.installDir).sort();
  assert.ok(installed.length < 60, installed.join(' '));
  assert.ok(installed.includes('runtime/cli.js') && installed.includes('runtime/autosign.js'), installed.join(' '));
  for (const file of installed) {
    const expected = ['runtime/bin/autoami.js', 'runtime/bin/autoami-autosign.js', 'bin/autoami-autosign'].includes(file) ? '0755' : '0644';
    assert.is(mode(join(context.installDir, file)), expected, file);
    assert.is(statSync(join(context.installDir, file)).uid, 0, file);
  }
});

Installed('should install an autoami command that reads the class configuration unless AUTOAMI_CONFIG names another', (context) => {
  assert.is(mode(context.command), '0755');
  const cwd = tempDir('cmd');
  const version = spawnSync(context.command, ['version'], { cwd, env: plainEnv(), encoding: 'utf8' });
  assert.is(version.status, 0, version.stderr);
  assert.is(version.stdout, `${context.version}\n`);
  const migrate = spawnSync(context.command, ['migrate'], { cwd, env: plainEnv(), encoding: 'utf8' });
  assert.is(migrate.status, 0, migrate.stderr);
  assert.is(migrate.stdout, 'schema up to date (embedded store)\n');
  const other = spawnSync(context.command, ['migrate'], { cwd, env: plainEnv({ AUTOAMI_CONFIG: join(cwd, 'missing.yaml') }), encoding: 'utf8' });
  assert.is(other.status, 2);
  assert.match(other.stderr, `cannot read ${join(cwd, 'missing.yaml')}`);
});

Installed('should install an autosign command that asks the sidecar of the class configuration', (context) => {
  const command = join(context.installDir, 'bin', 'autoami-autosign');
  // No sidecar listens: the command reads the class's autoami.yaml, fails to reach its
  // socket and refuses, whatever AUTOAMI_CONFIG Puppet Server's environment might hold.
  const run = spawnSync(command, ['web-i-0abc.autoami'], { cwd: tempDir('sign'), env: plainEnv({ AUTOAMI_CONFIG: '/nonexistent/autoami.yaml' }), input: '', encoding: 'utf8' });
  assert.is(run.status, 1, run.stderr);
  assert.match(run.stderr, 'autoami autosign: not signing web-i-0abc.autoami');
  assert.match(run.stderr, context.socket);
});

Installed('should add autoami to [server] reports, keeping the processors there, and set autosign', (context) => {
  const text = readFileSync(context.puppetConf, 'utf8');
  const server = text.slice(text.indexOf('[server]'));
  assert.match(server, /^reports = store,http,autoami$/m);
  assert.match(server, new RegExp(`^autosign = ${join(context.installDir, 'bin', 'autoami-autosign')}$`, 'm'));
  assert.match(server, /^reporturl = http:\/\/reports\.example\.com\/$/m);
  assert.match(text, /^\[main\]\nstrict_variables = true\n/);
  assert.is(text.match(/^reports/gm)?.length, 1, text);
});

Installed('should write the metrics address into autoami.yaml', async (context) => {
  assert.match(readFileSync(context.configFile, 'utf8'), "metrics:\n  listen: '127.0.0.1:9777'\n");
});

Installed('should change nothing on a second apply (exit 0): no mode reset, no puppet.conf edit', async (context) => {
  const before = readFileSync(context.puppetConf, 'utf8');
  const second = await applyInstalled(context);
  assert.is(second.status, 0, describe(second));
  assert.is(mode(join(context.installDir, 'runtime', 'bin', 'autoami-autosign.js')), '0755');
  assert.is(readFileSync(context.puppetConf, 'utf8'), before);
});

Installed.run();
